package driverbench

import (
	"context"
	"testing"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

func TestMeasureInProcess(t *testing.T) {
	tests := []struct {
		target string
		// migDevices: the GPU pool has more devices than GPUs (MIG
		// partitions) and counter slices of its own.
		migDevices bool
	}{
		{target: "dgxh100"},
		{target: "dgxh100:shared"},
		{target: "dgxa100:mig", migDevices: true},
		{target: "workstation"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			targets, err := ParseTargets(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			m, err := simhw.Load(targets[0].Node.Machine)
			if err != nil {
				t.Fatal(err)
			}
			in, err := measureInProcess(context.Background(), targets[0], t.TempDir(), 2)
			if err != nil {
				t.Fatal(err)
			}
			for name, samples := range map[string]int{"topology": len(in.Topology), "nvml": len(in.NVML),
				"families": len(in.Families), "discovery": len(in.Discovery), "build": len(in.Build)} {
				if samples != 2 {
					t.Errorf("%s: %d samples, want 2", name, samples)
				}
			}
			cpus := m.CPU.Sockets * m.CPU.CoresPerSocket * m.CPU.ThreadsPerCore
			if in.GPUs != len(m.GPUs) || in.NUMANodes != m.NUMANodes() || in.CPUs != cpus {
				t.Errorf("found %d GPUs, %d NUMA nodes, %d CPUs; machine has %d, %d, %d", in.GPUs, in.NUMANodes, in.CPUs, len(m.GPUs), m.NUMANodes(), cpus)
			}
			pools := map[string]PoolSize{}
			for _, p := range in.Pools {
				pools[p.Driver] = p
			}
			gpu, cpu := pools[attrs.GPUDriver], pools[attrs.CPUDriver]
			switch {
			case tt.migDevices && (gpu.Devices <= in.GPUs || gpu.Slices < 2):
				t.Errorf("MIG mode: GPU pool %+v, want more devices than %d GPUs and counter slices", gpu, in.GPUs)
			case !tt.migDevices && (gpu.Devices != in.GPUs || gpu.Slices != 1):
				t.Errorf("GPU pool %+v, want one slice with one device per GPU (%d)", gpu, in.GPUs)
			}
			if cpu.Devices != in.NUMANodes {
				t.Errorf("CPU pool %+v, want one device per NUMA node (%d)", cpu, in.NUMANodes)
			}
			if _, ok := pools[attrs.NICDriver]; !ok {
				t.Errorf("no NIC pool in %+v", in.Pools)
			}
		})
	}
}

// benchmarkTargets are the default targets, for the Go benchmarks.
func benchmarkTargets(b *testing.B) []Target {
	b.Helper()
	targets, err := ParseTargets(DefaultTargets)
	if err != nil {
		b.Fatal(err)
	}
	return targets
}

// BenchmarkDiscovery is a starting driver's discovery on each simulated
// machine: sysfs topology, GPUs through NVML, device families.
func BenchmarkDiscovery(b *testing.B) {
	dir := b.TempDir()
	for _, target := range benchmarkTargets(b) {
		b.Run(target.Spec, func(b *testing.B) {
			s, err := openSimulated(target, dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for b.Loop() {
				if _, _, _, _, err := s.discover(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSliceBuild is every family's Resources on each simulated
// machine, as the publishing code asks for them.
func BenchmarkSliceBuild(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	for _, target := range benchmarkTargets(b) {
		b.Run(target.Spec, func(b *testing.B) {
			s, err := openSimulated(target, dir)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			_, _, _, families, err := s.discover()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := buildSlices(ctx, families); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
