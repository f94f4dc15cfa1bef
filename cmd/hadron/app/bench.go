package app

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/bench/schedperf"
	"github.com/hadron-sched/hadron/bench/startup"
)

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks on the local environment"}
	cmd.AddCommand(newBenchStartupCommand(), newBenchSchedulerPerfCommand(), newBenchDriverCommand(), newBenchTraceCommand())
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
			return writeReport(cmd, out, res.Report)
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

func newBenchSchedulerPerfCommand() *cobra.Command {
	// Two runs per workload and profile, in alternating order, so that a
	// trend in the machine's load does not favour the profile that runs
	// second.
	opts := schedperf.Options{Label: schedperf.LabelPerformance, Count: 2}
	var out string
	cmd := &cobra.Command{
		Use:   "scheduler-perf",
		Short: "Compare hadron's scheduler profile with the default one on kube-scheduler's DRA scheduler_perf workloads",
		Long: `Builds BenchmarkSchedulingDRA (bench/schedperf) and runs upstream
scheduler_perf DRA workloads with the default profile and with hadron's
profile, back to back, then writes pods/s for both and their ratio.
Run it from the hadron checkout; it needs the Go toolchain and etcd.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			res, err := schedperf.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			// The benchmark is built from the working tree.
			res.Uncommitted = gitDirty()
			return writeReport(cmd, out, res.Report)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.BinDir, "bin-dir", "", "directory with etcd (default: etcd on PATH)")
	f.StringVar(&opts.Label, "label", opts.Label, "workloads to run: "+schedperf.LabelPerformance+" or "+schedperf.LabelSmoke)
	f.IntVar(&opts.Count, "count", opts.Count, "runs per workload and profile")
	f.StringVar(&opts.WorkDir, "work-dir", "", "keep the benchmark binary, logs and scheduler_perf's JSON results here (default: a temporary directory, removed on success)")
	f.StringVar(&out, "out", "bench/results/scheduler-perf.md", "report file")
	return cmd
}

// writeReport writes a benchmark report to path, naming the command line
// and the commit that produced it.
func writeReport(cmd *cobra.Command, path string, report func(w io.Writer, command, commit string)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	report(f, "hadron "+strings.Join(os.Args[1:], " "), gitCommit())
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), "report:", path)
	return nil
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// gitDirty reports whether the working tree differs from HEAD, reports
// aside.
func gitDirty() bool {
	out, err := exec.Command("git", "status", "--porcelain", "--", ".", ":!bench/results").Output()
	return err == nil && len(strings.TrimSpace(string(out))) > 0
}
