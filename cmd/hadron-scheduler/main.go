// Command hadron-scheduler is kube-scheduler built with hadron's plugins.
// It takes every kube-scheduler flag; profiles in its
// KubeSchedulerConfiguration enable hadron's plugins by name.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/hadron-sched/hadron/scheduler-plugin/alignment"
)

func main() {
	command := app.NewSchedulerCommand(
		app.WithPlugin(alignment.Name, alignment.New),
	)
	os.Exit(cli.Run(command))
}
