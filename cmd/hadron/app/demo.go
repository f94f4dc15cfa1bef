package app

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/localenv"
)

func newDemoCommand() *cobra.Command {
	var nodes, binDir string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local cluster, run research pods on simulated GPU nodes, show where they landed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs, err := localenv.ParseNodes(nodes)
			if err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "==> starting the local cluster with %d simulated nodes (%s)\n", len(specs), nodes)
			start := time.Now()
			env, err := localenv.Start(ctx, localenv.Options{
				BinDir:   binDir,
				Nodes:    specs,
				Progress: func(s string) { fmt.Fprintln(out, "  ", s) },
			})
			if err != nil {
				return err
			}
			defer func() {
				fmt.Fprintln(out, "==> tearing down")
				if err := env.Stop(); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "stop:", err)
				}
			}()
			fmt.Fprintf(out, "==> cluster up in %s; creating research pods\n", time.Since(start).Round(time.Millisecond))
			if _, err := demo.Run(ctx, env.Client, out, timeout); err != nil {
				return err
			}
			fmt.Fprintln(out, "==> demo passed")
			return nil
		},
	}
	cmd.Flags().StringVar(&nodes, "nodes", defaultNodes, "simulated nodes: machine=count,...")
	cmd.Flags().StringVar(&binDir, "bin-dir", "", "directory with the control-plane binaries")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the pods to run")
	return cmd
}
