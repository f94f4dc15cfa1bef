package app

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/pkg/localenv"
)

const defaultNodes = "dgxh100=2,dgxa100=2,workstation=1"

func newUpCommand() *cobra.Command {
	var nodes, binDir, workDir string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the local cluster (control plane + simulated GPU nodes) until Ctrl-C",
		Long: `up starts etcd, kube-apiserver, kube-controller-manager and hadron-scheduler
(built from the upstream Go modules), installs hadron's DeviceClasses, and
starts simulated nodes that run hadron's real kubelet plugin and the
kubelet's own DRA code. It writes a kubeconfig and stays up until Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs, err := localenv.ParseNodes(nodes)
			if err != nil {
				return err
			}
			if workDir == "" {
				workDir = filepath.Join(stateDir(), "cluster")
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			out := cmd.OutOrStdout()
			start := time.Now()
			env, err := localenv.Start(ctx, localenv.Options{
				WorkDir:  workDir,
				BinDir:   binDir,
				Nodes:    specs,
				Progress: func(s string) { fmt.Fprintln(out, "  ", s) },
			})
			if err != nil {
				return err
			}
			defer func() {
				fmt.Fprintln(out, "stopping ...")
				if err := env.Stop(); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "stop:", err)
				}
			}()
			kubeconfig := defaultKubeconfig()
			if err := linkKubeconfig(env.Cluster.KubeconfigPath, kubeconfig); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nhadron local cluster is up in %s (control plane %s, %d nodes %s)\n",
				time.Since(start).Round(time.Millisecond), env.ControlPlaneStartup.Round(time.Millisecond),
				len(specs), env.NodesStartup.Round(time.Millisecond))
			fmt.Fprintf(out, "kubeconfig: %s\n  export KUBECONFIG=%s   # or: hadron kubectl get nodes\nPress Ctrl-C to stop.\n", kubeconfig, kubeconfig)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&nodes, "nodes", defaultNodes, "simulated nodes: machine=count,... (machines: built-in names or machine files)")
	cmd.Flags().StringVar(&binDir, "bin-dir", "", "directory with the control-plane binaries (default: next to hadron, or _output/bin)")
	cmd.Flags().StringVar(&workDir, "work-dir", "", "state directory (default ~/.local/state/hadron/cluster)")
	return cmd
}

// linkKubeconfig copies the cluster's kubeconfig to the well-known path
// that `hadron kubectl` and later commands default to.
func linkKubeconfig(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
