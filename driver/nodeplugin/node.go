package nodeplugin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/cpu"
	"github.com/hadron-sched/hadron/driver/gpu"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/driver/nic"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// Options configures all drivers of one node.
type Options struct {
	NodeName string
	Client   kubernetes.Interface
	// Hardware is the node's opened hardware; the caller owns (and
	// closes) it, so that device state such as MIG partitions outlives a
	// driver restart, as it does on a real node.
	Hardware *Hardware
	// Families configures the device families.
	Families FamilyOptions
	// KubeletDir is the kubelet's root directory (/var/lib/kubelet): each
	// driver's socket and checkpoint live in plugins/<driver>, registration
	// sockets in plugins_registry.
	KubeletDir string
	// CDIDir receives the per-claim CDI specs (/var/run/cdi).
	CDIDir string
	// OnFatal is told about background errors that retrying will not fix.
	OnFatal func(error)
}

// FamilyOptions configures each device family of a node.
type FamilyOptions struct {
	// GPU chooses each GPU's mode (nil: all whole).
	GPU *config.Config
	// CPU sets the reserved CPUs and package power. On a simulated
	// machine a zero package power is taken from the machine description.
	CPU cpu.Options
	NIC nic.Options
	// StateDir holds what the families keep on the node besides their
	// checkpoints (the GPU's MPS pipes); empty keeps their defaults.
	StateDir string
}

// Families builds the device families for the given hardware: GPUs, the
// exclusive CPUs of each NUMA node, and RDMA NICs.
func Families(nodeName string, hw *Hardware, opts FamilyOptions) ([]driver.Family, error) {
	g := gpu.NewFamily(nodeName, hw.NVML, hw.SysfsRoot, opts.GPU)
	var ctl gpu.SharingControl = gpu.NVIDIATools{}
	if hw.Sim != nil {
		ctl = simulatedSharing{hw.Sim}
	}
	mpsRoot := ""
	if opts.StateDir != "" {
		mpsRoot = filepath.Join(opts.StateDir, "mps")
	}
	g.SetSharing(ctl, mpsRoot)
	c, err := cpu.NewFamily(nodeName, hw.Topology, hw.cpuOptions(opts.CPU))
	if err != nil {
		return nil, err
	}
	if err := opts.NIC.Validate(); err != nil {
		return nil, err
	}
	n := nic.NewFamily(nodeName, hw.Topology.NICs, hw.SysfsRoot, opts.NIC)
	return []driver.Family{g, c, n}, nil
}

// simulatedSharing applies sharing strategies to simulated GPUs, where
// NVIDIA's host tools do not exist.
type simulatedSharing struct{ sim *simhw.NVML }

func (s simulatedSharing) SetTimeSlice(_ context.Context, uuid string, level int) error {
	return s.sim.SetTimeSlice(uuid, level)
}

func (s simulatedSharing) StartMPS(_ context.Context, uuid, pipeDir, _ string) error {
	return s.sim.StartMPS(uuid, pipeDir)
}

func (s simulatedSharing) StopMPS(_ context.Context, uuid, _ string) error {
	return s.sim.StopMPS(uuid)
}

// Node is one node's running drivers.
type Node struct {
	Drivers []*driver.Driver
	// CPU is the CPU family, whose prepared claims the NRI plugin enforces.
	CPU *cpu.Family
}

// Start starts every driver. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.NodeName == "" || opts.Hardware == nil {
		return nil, errors.New("node name and hardware are required")
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", opts.NodeName)
	ctx = klog.NewContext(ctx, logger)
	fo := opts.Families
	fo.StateDir = filepath.Join(opts.KubeletDir, "plugins", "hadron")
	families, err := Families(opts.NodeName, opts.Hardware, fo)
	if err != nil {
		return nil, err
	}
	n := &Node{}
	for _, f := range families {
		if c, ok := f.(*cpu.Family); ok {
			n.CPU = c
		}
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
