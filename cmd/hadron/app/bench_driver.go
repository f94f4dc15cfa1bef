package app

import (
	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/bench/driverbench"
)

func newBenchDriverCommand() *cobra.Command {
	opts := driverbench.Options{Iterations: 50, Publish: 5, Claims: 200}
	var out string
	cmd := &cobra.Command{
		Use:   "driver",
		Short: "Measure the kubelet plugin on simulated hardware: discovery, slice build and publish, prepare/unprepare latency, memory",
		Long: `Measures hadron's DRA drivers on every built-in simulated machine: discovery
and the ResourceSlice build in process; then, against a local control plane,
the hadron-kubelet-plugin binary's time to publish its pools, the latency of
NodePrepareResources and NodeUnprepareResources called by the kubelet's own
DRA plugin manager over gRPC for whole-GPU, MIG, shared-GPU, CPU-set and NIC
claims, and the binary's memory (VmRSS, VmHWM).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			res, err := driverbench.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			// The measured binaries are built from the working tree.
			res.Uncommitted = gitDirty()
			return writeReport(cmd, out, res.Report)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.BinDir, "bin-dir", "", "directory with the control-plane binaries and "+driverbench.PluginBinary)
	f.StringVar(&opts.Targets, "targets", driverbench.DefaultTargets, "measured machines, machine[:gpu-mode] separated by commas")
	f.IntVar(&opts.Iterations, "iterations", opts.Iterations, "discovery and slice-build samples per target")
	f.IntVar(&opts.Publish, "publish", opts.Publish, "plugin starts timed per target")
	f.IntVar(&opts.Claims, "claims", opts.Claims, "claims prepared and unprepared per claim kind")
	f.StringVar(&out, "out", "bench/results/driver.md", "report file")
	return cmd
}
