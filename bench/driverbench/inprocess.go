package driverbench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/gpu"
	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// InProcess holds the in-process measurements of one target.
type InProcess struct {
	Target string
	// What discovery found.
	GPUs, NUMANodes, CPUs, NICs int
	// Discovery samples, per step and in total: the sysfs topology, the
	// GPUs through NVML, and building the device families from both.
	Topology, NVML, Families, Discovery []time.Duration
	// Build samples: every family's Resources, which is what the
	// publishing code asks the families for.
	Build []time.Duration
	// Pools is what the build produced, per driver.
	Pools []PoolSize
}

// PoolSize is one driver's pool on a node.
type PoolSize struct {
	Driver          string
	Slices, Devices int
}

// simulatedHardware is one target's simulated machine, opened once: its
// sysfs tree written and its NVML initialised, so that the samples time
// what a driver does on a node, not what the simulation sets up.
type simulatedHardware struct {
	target Target
	hw     *nodeplugin.Hardware
}

// openSimulated opens target's machine, with its sysfs tree under dir.
func openSimulated(target Target, dir string) (*simulatedHardware, error) {
	hw, err := nodeplugin.OpenHardware(nodeplugin.HardwareOptions{
		Machine:   target.Node.Machine,
		NodeName:  target.Node.Name,
		SysfsRoot: filepath.Join(dir, target.Node.Name),
		GPUConfig: target.Node.GPUConfig,
	})
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", target.Spec, err)
	}
	return &simulatedHardware{target: target, hw: hw}, nil
}

func (s *simulatedHardware) Close() { s.hw.Close() }

// discoveryTimes is one discovery's duration per step.
type discoveryTimes struct {
	topology, nvml, families time.Duration
}

func (d discoveryTimes) total() time.Duration { return d.topology + d.nvml + d.families }

// discover does what a starting driver does before it publishes: read the
// CPU, NUMA and PCI topology from sysfs, enumerate the GPUs through NVML,
// and build the device families.
func (s *simulatedHardware) discover() (discoveryTimes, *topology.Topology, *gpu.Host, []driver.Family, error) {
	var d discoveryTimes
	start := time.Now()
	topo, err := topology.Discover(s.hw.SysfsRoot)
	if err != nil {
		return d, nil, nil, nil, fmt.Errorf("target %s: %w", s.target.Spec, err)
	}
	d.topology = time.Since(start)
	start = time.Now()
	host, err := gpu.Discover(s.hw.NVML, s.hw.SysfsRoot)
	if err != nil {
		return d, nil, nil, nil, fmt.Errorf("target %s: discover GPUs: %w", s.target.Spec, err)
	}
	d.nvml = time.Since(start)
	hw := *s.hw
	hw.Topology = topo
	start = time.Now()
	families, err := nodeplugin.Families(s.target.Node.Name, &hw, s.familyOptions())
	if err != nil {
		return d, nil, nil, nil, fmt.Errorf("target %s: build device families: %w", s.target.Spec, err)
	}
	d.families = time.Since(start)
	return d, topo, host, families, nil
}

func (s *simulatedHardware) familyOptions() nodeplugin.FamilyOptions {
	n := s.target.Node
	return nodeplugin.FamilyOptions{GPU: n.GPUConfig, CPU: n.CPU, NIC: n.NIC}
}

// buildSlices asks every family for its ResourceSlices.
func buildSlices(ctx context.Context, families []driver.Family) ([]PoolSize, error) {
	pools := make([]PoolSize, 0, len(families))
	for _, f := range families {
		res, err := f.Resources(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: build slices: %w", f.DriverName(), err)
		}
		p := PoolSize{Driver: f.DriverName()}
		for _, pool := range res.Pools {
			p.Slices += len(pool.Slices)
			for _, s := range pool.Slices {
				p.Devices += len(s.Devices)
			}
		}
		pools = append(pools, p)
	}
	return pools, nil
}

// measureInProcess samples discovery and the slice build of one target.
func measureInProcess(ctx context.Context, target Target, dir string, iterations int) (*InProcess, error) {
	s, err := openSimulated(target, dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res := &InProcess{Target: target.Spec}
	for i := 0; i < iterations; i++ {
		d, topo, host, families, err := s.discover()
		if err != nil {
			return nil, err
		}
		res.Topology = append(res.Topology, d.topology)
		res.NVML = append(res.NVML, d.nvml)
		res.Families = append(res.Families, d.families)
		res.Discovery = append(res.Discovery, d.total())
		res.GPUs, res.NUMANodes, res.CPUs, res.NICs = len(host.GPUs), len(topo.Nodes), len(topo.CPUs), len(topo.NICs)
		start := time.Now()
		pools, err := buildSlices(ctx, families)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", target.Spec, err)
		}
		res.Build = append(res.Build, time.Since(start))
		res.Pools = pools
	}
	return res, nil
}
