// Command hadron-kubelet-plugin runs hadron's DRA drivers on one node.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/cmd/hadron-kubelet-plugin/app"
)

func main() {
	klog.InitFlags(nil)
	cmd := app.NewCommand()
	cmd.PersistentFlags().AddGoFlagSet(flag.CommandLine)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hadron-kubelet-plugin:", err)
		os.Exit(1)
	}
}
