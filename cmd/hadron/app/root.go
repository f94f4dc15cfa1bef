// Package app holds the cobra commands of the hadron CLI. Each command only
// parses flags and calls the package that does the work.
package app

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// NewCommand returns the hadron root command.
func NewCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "hadron",
		Short:         "GPU/NUMA-aware scheduling and DRA drivers for research platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlagSet(klogFlags)
	root.AddCommand(newUpCommand(), newDemoCommand(), newKubectlCommand())
	return root
}

// stateDir is where `hadron up` keeps its cluster and kubeconfig.
func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "hadron")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hadron")
	}
	return filepath.Join(home, ".local", "state", "hadron")
}

// defaultKubeconfig is the kubeconfig of the cluster `hadron up` runs.
func defaultKubeconfig() string { return filepath.Join(stateDir(), "kubeconfig") }
