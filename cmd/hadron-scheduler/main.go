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
)

func main() {
	// hadron's scheduler plugins are registered here with app.WithPlugin
	// as they land; the binary already is the upstream scheduler.
	command := app.NewSchedulerCommand()
	os.Exit(cli.Run(command))
}
