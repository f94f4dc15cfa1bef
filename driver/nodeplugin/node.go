package nodeplugin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/gpu"
	"github.com/hadron-sched/hadron/driver/gpu/config"
)

// Options configures all drivers of one node.
type Options struct {
	NodeName string
	Client   kubernetes.Interface
	// Hardware is the node's opened hardware; the caller owns (and
	// closes) it, so that device state such as MIG partitions outlives a
	// driver restart, as it does on a real node.
	Hardware *Hardware
	// GPUConfig chooses each GPU's mode (nil: all whole).
	GPUConfig *config.Config
	// KubeletDir is the kubelet's root directory (/var/lib/kubelet): each
	// driver's socket and checkpoint live in plugins/<driver>, registration
	// sockets in plugins_registry.
	KubeletDir string
	// CDIDir receives the per-claim CDI specs (/var/run/cdi).
	CDIDir string
	// OnFatal is told about background errors that retrying will not fix.
	OnFatal func(error)
}

// Families builds the device families for the given hardware.
func Families(nodeName string, hw *Hardware, gpuConfig *config.Config) []driver.Family {
	return []driver.Family{gpu.NewFamily(nodeName, hw.NVML, hw.SysfsRoot, gpuConfig)}
}

// Node is one node's running drivers.
type Node struct {
	Drivers []*driver.Driver
}

// Start starts every driver. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.NodeName == "" || opts.Hardware == nil {
		return nil, errors.New("node name and hardware are required")
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", opts.NodeName)
	ctx = klog.NewContext(ctx, logger)
	n := &Node{}
	for _, f := range Families(opts.NodeName, opts.Hardware, opts.GPUConfig) {
		d, err := driver.Start(ctx, driver.Config{
			NodeName:     opts.NodeName,
			Client:       opts.Client,
			Family:       f,
			PluginDir:    filepath.Join(opts.KubeletDir, "plugins", f.DriverName()),
			RegistrarDir: filepath.Join(opts.KubeletDir, "plugins_registry"),
			CDIDir:       opts.CDIDir,
			OnFatal:      opts.OnFatal,
		})
		if err != nil {
			n.Stop()
			return nil, fmt.Errorf("start %s driver: %w", f.DriverName(), err)
		}
		n.Drivers = append(n.Drivers, d)
	}
	return n, nil
}

// Stop stops the drivers. Prepared claims stay in the checkpoints for the
// next start.
func (n *Node) Stop() {
	for _, d := range n.Drivers {
		d.Stop()
	}
	n.Drivers = nil
}
