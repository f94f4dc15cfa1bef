package app

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/bench/startup"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks on the local environment"}
	cmd.AddCommand(newBenchStartupCommand())
	return cmd
}

func newBenchStartupCommand() *cobra.Command {
	opts := startup.Options{Clusters: 3, Publish: 10, Pods: 20}
	var out string
	cmd := &cobra.Command{
		Use:   "startup",
		Short: "Measure control-plane start, ResourceSlice publishing and pod-to-Running time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			res, err := startup.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer func() { _ = f.Close() }()
			res.Report(f, "hadron "+strings.Join(os.Args[1:], " "), gitCommit())
			fmt.Fprintln(cmd.OutOrStdout(), "report:", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.BinDir, "bin-dir", "", "directory with the control-plane binaries")
	f.IntVar(&opts.Clusters, "clusters", opts.Clusters, "control-plane starts to measure")
	f.IntVar(&opts.Publish, "publish", opts.Publish, "driver restarts to measure slice publishing")
	f.IntVar(&opts.Pods, "pods", opts.Pods, "1-GPU pods to measure")
	f.StringVar(&out, "out", "bench/results/startup.md", "report file")
	return cmd
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
