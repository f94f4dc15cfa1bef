package gpu

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// simulated opens a built-in machine's NVML and sysfs tree.
func simulated(t *testing.T, machine, seed string) (*simhw.Machine, *simhw.NVML, string) {
	t.Helper()
	m, err := simhw.Load(machine)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := m.WriteSysfs(root); err != nil {
		t.Fatal(err)
	}
	lib, err := m.NewSimulatedNVML(seed)
	if err != nil {
		t.Fatal(err)
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		t.Fatal(nvml.ErrorString(ret))
	}
	t.Cleanup(func() { _ = lib.Shutdown() })
	return m, lib, root
}

func TestDiscoverMatchesMachine(t *testing.T) {
	for _, name := range []string{"dgxa100", "dgxh100", "workstation"} {
		t.Run(name, func(t *testing.T) {
			m, lib, root := simulated(t, name, "node-1")
			host, err := Discover(lib, root)
			if err != nil {
				t.Fatal(err)
			}
			if len(host.GPUs) != len(m.GPUs) {
				t.Fatalf("found %d GPUs, machine has %d", len(host.GPUs), len(m.GPUs))
			}
			seen := map[string]bool{}
			for i, g := range host.GPUs {
				want := m.GPUs[i]
				if g.PCIBusID != want.PCIBusID || g.PCIeRoot != want.PCIeRoot || g.NUMANode == nil || *g.NUMANode != want.NUMANode {
					t.Errorf("GPU %d topology: bus %s root %s numa %v; want %s %s %d", i, g.PCIBusID, g.PCIeRoot, g.NUMANode, want.PCIBusID, want.PCIeRoot, want.NUMANode)
				}
				if g.IdlePowerWatts != want.IdlePowerWatts || g.MaxPowerWatts != want.MaxPowerWatts {
					t.Errorf("GPU %d power %d/%d W, want %d/%d W", i, g.IdlePowerWatts, g.MaxPowerWatts, want.IdlePowerWatts, want.MaxPowerWatts)
				}
				if seen[DeviceName(g.UUID)] {
					t.Errorf("duplicate device name %s", DeviceName(g.UUID))
				}
				seen[DeviceName(g.UUID)] = true
			}
		})
	}
}

func TestDeviceNamesAreStablePerNode(t *testing.T) {
	names := func(seed string) []string {
		_, lib, root := simulated(t, "dgxh100", seed)
		host, err := Discover(lib, root)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range host.GPUs {
			out = append(out, DeviceName(g.UUID))
		}
		return out
	}
	a, b, other := names("n1"), names("n1"), names("n2")
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same node, different names: %v vs %v", a, b)
	}
	if a[0] == other[0] {
		t.Fatalf("different nodes share device name %s", a[0])
	}
}

func TestResourcesPublishAttributes(t *testing.T) {
	m, lib, root := simulated(t, "dgxh100", "n1")
	f := NewFamily("n1", lib, root, nil)
	res, err := f.Resources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pool, ok := res.Pools["n1"]
	if !ok || len(pool.Slices) != 1 || len(pool.Slices[0].Devices) != len(m.GPUs) {
		t.Fatalf("unexpected pools %+v", res.Pools)
	}
	d := pool.Slices[0].Devices[0]
	for _, name := range []resourceapi.QualifiedName{
		attrs.GPUProductName, attrs.GPUArchitecture, attrs.GPUCUDAComputeCapability, attrs.GPUDriverVersion,
		attrs.GPUUUID, attrs.PCIBusID, attrs.PCIeRoot, attrs.NUMANode, attrs.GPUIdlePowerWatts, attrs.GPUMaxPowerWatts,
	} {
		if _, ok := d.Attributes[name]; !ok {
			t.Errorf("attribute %s missing", name)
		}
	}
	if got := *d.Attributes[attrs.GPUArchitecture].StringValue; got != "Hopper" {
		t.Errorf("architecture %q", got)
	}
	if mem := d.Capacity[attrs.GPUMemory].Value; mem.Value() < 80<<30 {
		t.Errorf("memory capacity %s", mem.String())
	}
}

func TestPrepareGivesDeviceNodeAndIdentity(t *testing.T) {
	_, lib, root := simulated(t, "workstation", "ws")
	f := NewFamily("ws", lib, root, nil)
	host, err := f.Host()
	if err != nil {
		t.Fatal(err)
	}
	g := host.GPUs[1]
	ok := resourceapi.DeviceRequestAllocationResult{Request: "gpu", Driver: attrs.GPUDriver, Pool: "ws", Device: DeviceName(g.UUID)}
	prepared, err := f.Prepare(context.Background(), &resourceapi.ResourceClaim{}, []resourceapi.DeviceRequestAllocationResult{ok})
	if err != nil {
		t.Fatal(err)
	}
	edits := prepared[0].Edits
	if len(edits.DeviceNodes) != 1 || edits.DeviceNodes[0].Path != fmt.Sprintf("/dev/nvidia%d", g.Minor) {
		t.Fatalf("device nodes %+v", edits.DeviceNodes)
	}
	if !strings.Contains(strings.Join(edits.Env, " "), g.UUID) {
		t.Fatalf("env %v does not name %s", edits.Env, g.UUID)
	}
	tests := map[string]resourceapi.DeviceRequestAllocationResult{
		"unknown device": {Request: "gpu", Driver: attrs.GPUDriver, Pool: "ws", Device: "gpu-does-not-exist"},
		"other node":     {Request: "gpu", Driver: attrs.GPUDriver, Pool: "elsewhere", Device: DeviceName(g.UUID)},
		"other driver":   {Request: "gpu", Driver: attrs.CPUDriver, Pool: "ws", Device: DeviceName(g.UUID)},
	}
	for name, r := range tests {
		if _, err := f.Prepare(context.Background(), &resourceapi.ResourceClaim{}, []resourceapi.DeviceRequestAllocationResult{ok, r}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSemver(t *testing.T) {
	for in, want := range map[string]string{
		"550.54.15": "550.54.15", "535.104.05": "535.104.5", "12.4": "12.4.0", "9.0": "9.0.0", "": "0.0.0", "x.1": "0.1.0",
	} {
		if got := semver(in); got != want {
			t.Errorf("semver(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeBusID(t *testing.T) {
	for in, want := range map[string]string{
		"00000000:18:00.0": "0000:18:00.0", "0000:1B:00.0": "0000:1b:00.0", "00000001:c3:00.0": "0001:c3:00.0",
	} {
		got, err := normalizeBusID(in)
		if err != nil || got != want {
			t.Errorf("normalizeBusID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "garbage", "12:00.0"} {
		if _, err := normalizeBusID(bad); err == nil {
			t.Errorf("normalizeBusID(%q) accepted", bad)
		}
	}
}
