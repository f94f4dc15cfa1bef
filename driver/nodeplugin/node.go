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
)

// Options configures all drivers of one node.
type Options struct {
	NodeName string
	Client   kubernetes.Interface
	Hardware HardwareOptions
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
func Families(nodeName string, hw *Hardware) []driver.Family {
	return []driver.Family{gpu.NewFamily(nodeName, hw.NVML, hw.SysfsRoot)}
}

// Node is one node's running drivers.
type Node struct {
	Hardware *Hardware
	Drivers  []*driver.Driver
}

// Start opens the hardware and starts every driver. On error nothing is
// left running.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.NodeName == "" {
		return nil, errors.New("node name is required")
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", opts.NodeName)
	ctx = klog.NewContext(ctx, logger)
	opts.Hardware.NodeName = opts.NodeName
	hw, err := OpenHardware(opts.Hardware)
	if err != nil {
		return nil, err
	}
	n := &Node{Hardware: hw}
	for _, f := range Families(opts.NodeName, hw) {
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

// Stop stops the drivers and releases the hardware. Prepared claims stay in
// the checkpoints for the next start.
func (n *Node) Stop() {
	for _, d := range n.Drivers {
		d.Stop()
	}
	n.Drivers = nil
	n.Hardware.Close()
}
