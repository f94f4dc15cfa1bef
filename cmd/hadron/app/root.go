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
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return quietLogs(cmd, klogFlags)
	}
	root.AddCommand(newUpCommand(), newDemoCommand(), newKubectlCommand(), newBenchCommand(), newTopologyCommand(), newWorkspaceCommand())
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

// quietLogs sends the components' logs to a file unless the user asked for
// them (-v, --logtostderr=... or --log_file): the commands' own progress
// lines are what a person wants on the terminal.
func quietLogs(cmd *cobra.Command, klogFlags *flag.FlagSet) error {
	for _, name := range []string{"v", "logtostderr", "log_file", "alsologtostderr", "stderrthreshold"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return nil
		}
	}
	if err := os.MkdirAll(stateDir(), 0o700); err != nil {
		return nil // logging to stderr is still better than failing
	}
	for name, value := range map[string]string{
		"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL",
		"log_file": filepath.Join(stateDir(), "hadron.log"),
	} {
		if err := klogFlags.Set(name, value); err != nil {
			return err
		}
	}
	return nil
}
