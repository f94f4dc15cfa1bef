// Package nodeplugin starts all of hadron's DRA drivers for one node: it
// opens the node's hardware (real, or a simulated machine), builds the
// device families and runs each behind the shared driver code. The
// hadron-kubelet-plugin binary and the node simulator both use it, so a
// simulated node runs exactly the driver code a real one does.
package nodeplugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver/cpu"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/simhw"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// Hardware is the node's hardware as the drivers see it.
type Hardware struct {
	NVML nvml.Interface
	// SysfsRoot holds sys/: "/" on a real node, a fake tree when simulated.
	SysfsRoot string
	// Machine is the simulated machine, nil on real hardware.
	Machine *simhw.Machine
	// Sim controls the simulated GPUs (nil on real hardware).
	Sim *simhw.NVML
	// Topology is the node's CPU, NUMA and PCI layout read from SysfsRoot.
	Topology *topology.Topology
}

// HardwareOptions selects real or simulated hardware.
type HardwareOptions struct {
	// Machine is a built-in simulated machine name or a machine file;
	// empty means the real hardware of this host.
	Machine string
	// NodeName seeds the simulated machine (stable GPU UUIDs per node).
	NodeName string
	// SysfsRoot overrides where sysfs is read. For a simulated machine the
	// fake tree is written there (required then).
	SysfsRoot string
	// GPUConfig is the GPU driver's configuration. On a simulated machine
	// the GPUs it puts in MIG mode get MIG mode switched on, as the admin
	// does once on a real node (the driver itself never changes it).
	GPUConfig *config.Config
}

// OpenHardware opens NVML (initialised) and locates sysfs. Close the
// result with CloseHardware.
func OpenHardware(opts HardwareOptions) (*Hardware, error) {
	if opts.Machine == "" {
		root := opts.SysfsRoot
		if root == "" {
			root = "/"
		}
		lib := nvml.New()
		if ret := lib.Init(); ret != nvml.SUCCESS {
			return nil, fmt.Errorf("initialise NVML (is the NVIDIA driver installed? use --machine for simulated hardware): %s", nvml.ErrorString(ret))
		}
		topo, err := discoverTopology(root)
		if err != nil {
			_ = lib.Shutdown()
			return nil, err
		}
		return &Hardware{NVML: lib, SysfsRoot: root, Topology: topo}, nil
	}
	m, err := simhw.Load(opts.Machine)
	if err != nil {
		return nil, err
	}
	if opts.SysfsRoot == "" {
		return nil, errors.New("a simulated machine needs a directory for its sysfs tree")
	}
	if err := os.MkdirAll(opts.SysfsRoot, 0o755); err != nil {
		return nil, fmt.Errorf("create simulated sysfs root: %w", err)
	}
	// A restarted driver finds the tree it wrote before: the machine is
	// the same, so the tree is reused rather than rewritten.
	if _, err := os.Stat(filepath.Join(opts.SysfsRoot, "sys")); errors.Is(err, os.ErrNotExist) {
		if err := m.WriteSysfs(opts.SysfsRoot); err != nil {
			return nil, fmt.Errorf("write simulated sysfs for %s: %w", m.Name, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("simulated sysfs root: %w", err)
	}
	lib, err := m.NewSimulatedNVML(opts.NodeName)
	if err != nil {
		return nil, fmt.Errorf("simulated NVML for %s: %w", m.Name, err)
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("initialise simulated NVML: %s", nvml.ErrorString(ret))
	}
	if err := enableSimulatedMIG(lib, opts.GPUConfig); err != nil {
		_ = lib.Shutdown()
		return nil, err
	}
	topo, err := discoverTopology(opts.SysfsRoot)
	if err != nil {
		_ = lib.Shutdown()
		return nil, err
	}
	return &Hardware{NVML: lib, SysfsRoot: filepath.Clean(opts.SysfsRoot), Machine: m, Sim: lib, Topology: topo}, nil
}

// discoverTopology reads the CPU/NUMA/PCI layout. What sysfs could not
// tell is logged and left out; only a host without any readable CPU is an
// error.
func discoverTopology(root string) (*topology.Topology, error) {
	topo, err := topology.Discover(root)
	if err != nil {
		return nil, fmt.Errorf("discover CPU and PCI topology: %w", err)
	}
	for _, w := range topo.Warnings {
		klog.Background().Info("Topology discovery went on without a file", "path", w.Path, "problem", w.Message)
	}
	return topo, nil
}

// enableSimulatedMIG switches MIG mode on for the simulated GPUs that the
// configuration runs in MIG mode.
func enableSimulatedMIG(lib *simhw.NVML, cfg *config.Config) error {
	if cfg == nil {
		return nil
	}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("count simulated GPUs: %s", nvml.ErrorString(ret))
	}
	for i := 0; i < count; i++ {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("simulated GPU %d: %s", i, nvml.ErrorString(ret))
		}
		uuid, _ := dev.GetUUID()
		name, _ := dev.GetName()
		if cfg.ModeFor(config.GPUIdentity{Index: i, UUID: uuid, Model: name}) != config.ModeMIG {
			continue
		}
		if err := lib.SetMIGMode(i, true); err != nil {
			return fmt.Errorf("enable MIG mode on simulated GPU %d: %w", i, err)
		}
	}
	return nil
}

// Close releases NVML.
func (h *Hardware) Close() {
	if h != nil && h.NVML != nil {
		_ = h.NVML.Shutdown()
	}
}

// cpuOptions completes the CPU options from what is known of the hardware.
func (h *Hardware) cpuOptions(o cpu.Options) cpu.Options {
	if h.Machine != nil && o.PackageMaxWatts == 0 {
		o.PackageIdleWatts, o.PackageMaxWatts = h.Machine.CPU.PackageIdleWatts, h.Machine.CPU.PackageMaxWatts
	}
	return o
}
