package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/pkg/simhw"
	"github.com/hadron-sched/hadron/pkg/topology"
)

func newTopologyCommand() *cobra.Command {
	var machine, root, capture string
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Show the sockets, NUMA nodes, CPUs, L3 caches, GPUs and NICs the drivers see",
		Long: `topology discovers the machine's layout from sysfs, as hadron's drivers do,
and draws it: per socket and NUMA node the CPUs, cores and threads, L3 cache
groups, memory, GPUs and NICs with their PCIe root and RDMA device; then the
NUMA distances and whatever could not be read.

By default it reads this host; --root reads a tree mounted elsewhere (a
host's root in a container, an unpacked snapshot) and --machine a simulated
machine's fake tree. --capture writes the files discovery reads into a
.tar.gz instead, to turn a real machine into a test fixture.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if machine != "" && root != "" {
				return errors.New("--machine and --root are mutually exclusive")
			}
			dir, what := root, root
			if dir == "" {
				dir, what = "/", "this host"
			}
			if machine != "" {
				m, err := simhw.Load(machine)
				if err != nil {
					return err
				}
				tmp, err := os.MkdirTemp("", "hadron-topology-*")
				if err != nil {
					return fmt.Errorf("writing machine %s: %w", machine, err)
				}
				defer func() { _ = os.RemoveAll(tmp) }()
				if err := m.WriteSysfs(tmp); err != nil {
					return err
				}
				dir, what = tmp, "simulated machine "+m.Name
			}
			out := cmd.OutOrStdout()
			if capture != "" {
				if err := topology.Capture(dir, capture); err != nil {
					return err
				}
				fmt.Fprintf(out, "captured %s into %s\n", what, capture)
				return nil
			}
			t, err := topology.Discover(dir)
			if err != nil {
				return err
			}
			for _, w := range t.Warnings {
				klog.InfoS("Topology discovery went on without a file", "path", w.Path, "reason", w.Message)
			}
			fmt.Fprintf(out, "topology of %s\n", what)
			return topology.Render(out, t)
		},
	}
	f := cmd.Flags()
	f.StringVar(&machine, "machine", "", "discover a simulated machine (built-in name or YAML file) instead of this host")
	f.StringVar(&root, "root", "", "directory holding the sys and proc trees to read (default /)")
	f.StringVar(&capture, "capture", "", "write the files discovery reads into this .tar.gz instead of showing the topology")
	return cmd
}
