// Command hadron-scheduler is kube-scheduler built with hadron's plugins.
// It takes every kube-scheduler flag; profiles in its
// KubeSchedulerConfiguration enable hadron's plugins by name.
package main

import (
	"maps"
	"os"
	"slices"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
)

func main() {
	registry := schedulerplugin.Registry()
	var options []app.Option
	for _, name := range slices.Sorted(maps.Keys(registry)) {
		options = append(options, app.WithPlugin(name, registry[name]))
	}
	command := app.NewSchedulerCommand(options...)
	os.Exit(cli.Run(command))
}
