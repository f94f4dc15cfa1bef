package trace

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/hadron-sched/hadron/pkg/simhw"
)

func TestBuildMachineLayout(t *testing.T) {
	ptr := func(i int) *int { return &i }
	tests := []struct {
		name string
		node Node
		cpu  simhw.CPUTopology
		gpus []simhw.GPU
		nics []simhw.NIC
	}{
		{
			name: "CPU-only, one socket",
			node: Node{Name: "c", CPUMilli: 32000, MemoryMiB: 262144},
			cpu:  simhw.CPUTopology{Sockets: 1, NUMANodesPerSocket: 1, CoresPerSocket: 16, ThreadsPerCore: 2, MemoryGiB: 256, PackageIdleWatts: 17, PackageMaxWatts: 184},
		},
		{
			name: "one T4: no NIC",
			node: Node{Name: "t", CPUMilli: 8000, MemoryMiB: 1000, GPUs: 1, Model: "T4"},
			cpu:  simhw.CPUTopology{Sockets: 1, NUMANodesPerSocket: 1, CoresPerSocket: 4, ThreadsPerCore: 2, MemoryGiB: 1, PackageIdleWatts: 15, PackageMaxWatts: 120},
			gpus: []simhw.GPU{{Model: "t4-pcie-16gb", PCIBusID: "0000:03:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, IdlePowerWatts: 10, MaxPowerWatts: 70}},
		},
		{
			name: "two P100 on two sockets: one per NUMA node, each with a NIC",
			node: Node{Name: "p", CPUMilli: 64000, MemoryMiB: 262144, GPUs: 2, Model: "P100"},
			cpu:  simhw.CPUTopology{Sockets: 2, NUMANodesPerSocket: 1, CoresPerSocket: 16, ThreadsPerCore: 2, MemoryGiB: 256, PackageIdleWatts: 17, PackageMaxWatts: 184},
			gpus: []simhw.GPU{
				{Model: "p100-pcie-16gb", PCIBusID: "0000:03:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, IdlePowerWatts: 25, MaxPowerWatts: 250},
				{Model: "p100-pcie-16gb", PCIBusID: "0000:23:00.0", PCIeRoot: "pci0000:20", NUMANode: 1, IdlePowerWatts: 25, MaxPowerWatts: 250},
			},
			nics: []simhw.NIC{
				{Model: "ConnectX-6", PCIBusID: "0000:04:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, Interface: "enp4s0f0np0", LinkLayer: "Ethernet", SpeedGbps: 100, PairedGPU: ptr(0)},
				{Model: "ConnectX-6", PCIBusID: "0000:24:00.0", PCIeRoot: "pci0000:20", NUMANode: 1, Interface: "enp36s0f0np0", LinkLayer: "Ethernet", SpeedGbps: 100, PairedGPU: ptr(1)},
			},
		},
		{
			name: "three G3 on one socket: a pair and a single root",
			node: Node{Name: "g", CPUMilli: 48000, MemoryMiB: 1025, GPUs: 3, Model: "G3"},
			cpu:  simhw.CPUTopology{Sockets: 1, NUMANodesPerSocket: 1, CoresPerSocket: 24, ThreadsPerCore: 2, MemoryGiB: 2, PackageIdleWatts: 19, PackageMaxWatts: 227},
			gpus: []simhw.GPU{
				{Model: "a100-pcie-40gb", PCIBusID: "0000:03:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, IdlePowerWatts: 50, MaxPowerWatts: 400},
				{Model: "a100-pcie-40gb", PCIBusID: "0000:0b:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, IdlePowerWatts: 50, MaxPowerWatts: 400},
				{Model: "a100-pcie-40gb", PCIBusID: "0000:23:00.0", PCIeRoot: "pci0000:20", NUMANode: 0, IdlePowerWatts: 50, MaxPowerWatts: 400},
			},
			nics: []simhw.NIC{
				{Model: "ConnectX-6", PCIBusID: "0000:04:00.0", PCIeRoot: "pci0000:00", NUMANode: 0, Interface: "enp4s0f0np0", LinkLayer: "Ethernet", SpeedGbps: 100, PairedGPU: ptr(0)},
			},
		},
		{
			name: "82 logical CPUs round up to whole cores per socket",
			node: Node{Name: "r", CPUMilli: 82000, MemoryMiB: 1024},
			cpu:  simhw.CPUTopology{Sockets: 2, NUMANodesPerSocket: 1, CoresPerSocket: 21, ThreadsPerCore: 2, MemoryGiB: 1, PackageIdleWatts: 18, PackageMaxWatts: 211},
		},
		{
			name: "a fraction of a CPU rounds up",
			node: Node{Name: "f", CPUMilli: 1500, MemoryMiB: 1},
			cpu:  simhw.CPUTopology{Sockets: 1, NUMANodesPerSocket: 1, CoresPerSocket: 1, ThreadsPerCore: 2, MemoryGiB: 1, PackageIdleWatts: 15, PackageMaxWatts: 120},
		},
		{
			name: "large package saturates the power range",
			node: Node{Name: "l", CPUMilli: 256000, MemoryMiB: 1024},
			cpu:  simhw.CPUTopology{Sockets: 2, NUMANodesPerSocket: 1, CoresPerSocket: 64, ThreadsPerCore: 2, MemoryGiB: 1, PackageIdleWatts: 20, PackageMaxWatts: 270},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := BuildMachine(tc.node)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != tc.node.Name {
				t.Errorf("Name = %q, want %q", m.Name, tc.node.Name)
			}
			if m.CPU != tc.cpu {
				t.Errorf("CPU = %+v\nwant  %+v", m.CPU, tc.cpu)
			}
			if !reflect.DeepEqual(m.GPUs, tc.gpus) {
				t.Errorf("GPUs = %+v\nwant   %+v", m.GPUs, tc.gpus)
			}
			if !reflect.DeepEqual(m.NICs, tc.nics) {
				t.Errorf("NICs = %s\nwant   %s", nicString(m.NICs), nicString(tc.nics))
			}
		})
	}
}

func nicString(nics []simhw.NIC) string {
	var b strings.Builder
	for _, n := range nics {
		p := -1
		if n.PairedGPU != nil {
			p = *n.PairedGPU
		}
		fmt.Fprintf(&b, "{%s %s %s numa=%d %s %s %v paired=%d} ", n.Model, n.PCIBusID, n.PCIeRoot, n.NUMANode, n.Interface, n.LinkLayer, n.SpeedGbps, p)
	}
	return b.String()
}

// TestBuildMachineEveryShape builds every GPU count up to the limit on
// one and two sockets, for every model, and checks the rules that hold
// for all: validity, even NUMA split in index order, pairs per root, a
// paired RDMA NIC per NUMA node with GPUs from two GPUs up.
func TestBuildMachineEveryShape(t *testing.T) {
	for _, model := range Models() {
		for _, cpuMilli := range []int64{32000, 96000} {
			for gpus := 1; gpus <= maxNodeGPUs; gpus++ {
				n := Node{Name: "n", CPUMilli: cpuMilli, MemoryMiB: 4096, GPUs: gpus, Model: model}
				m, err := BuildMachine(n)
				if err != nil {
					t.Fatalf("%+v: %v", n, err)
				}
				checkShape(t, n, m)
			}
		}
	}
}

func checkShape(t *testing.T, n Node, m *simhw.Machine) {
	t.Helper()
	numa := m.NUMANodes()
	perNode := map[int]int{}
	roots := map[string][]int{}
	for i, g := range m.GPUs {
		if want := i * numa / n.GPUs; g.NUMANode != want {
			t.Fatalf("%d GPUs, %d NUMA nodes: GPU %d on node %d, want %d", n.GPUs, numa, i, g.NUMANode, want)
		}
		perNode[g.NUMANode]++
		roots[g.PCIeRoot] = append(roots[g.PCIeRoot], i)
	}
	for node, c := range perNode {
		if c < n.GPUs/numa || c > (n.GPUs+numa-1)/numa {
			t.Fatalf("%d GPUs: node %d has %d", n.GPUs, node, c)
		}
	}
	for root, idx := range roots {
		if len(idx) > 2 || (len(idx) == 2 && idx[1] != idx[0]+1) {
			t.Fatalf("%d GPUs: root %s holds GPUs %v, want a pair of neighbours or one", n.GPUs, root, idx)
		}
	}
	wantNICs := 0
	if n.GPUs >= 2 {
		wantNICs = len(perNode)
	}
	if len(m.NICs) != wantNICs {
		t.Fatalf("%d GPUs on %d NUMA nodes: %d NICs, want %d", n.GPUs, numa, len(m.NICs), wantNICs)
	}
	for _, nic := range m.NICs {
		g := m.GPUs[*nic.PairedGPU]
		if nic.PCIeRoot != g.PCIeRoot || nic.NUMANode != g.NUMANode {
			t.Fatalf("NIC %+v is not beside its GPU %+v", nic, g)
		}
		if *nic.PairedGPU > 0 && m.GPUs[*nic.PairedGPU-1].NUMANode == g.NUMANode {
			t.Fatalf("NIC paired with GPU %d, which is not its NUMA node's first", *nic.PairedGPU)
		}
	}
}

// TestMachinesDriveNVMLAndSysfs runs one machine of each trace model
// through the simulated NVML and sysfs.
func TestMachinesDriveNVMLAndSysfs(t *testing.T) {
	names := map[string]string{
		"P100": "Tesla P100-PCIE-16GB", "T4": "Tesla T4", "V100M16": "Tesla V100-SXM2-16GB",
		"V100M32": "Tesla V100-SXM2-32GB", "A10": "NVIDIA A10", "G2": "NVIDIA A10", "G3": "NVIDIA A100-PCIE-40GB",
	}
	for _, model := range Models() {
		t.Run(model, func(t *testing.T) {
			m, err := BuildMachine(Node{Name: "node-" + strings.ToLower(model), CPUMilli: 96000, MemoryMiB: 393216, GPUs: 8, Model: model})
			if err != nil {
				t.Fatal(err)
			}
			lib, err := m.NewNVML("")
			if err != nil {
				t.Fatal(err)
			}
			if ret := lib.Init(); ret != nvml.SUCCESS {
				t.Fatalf("Init() = %v", ret)
			}
			defer func() { _ = lib.Shutdown() }()
			count, ret := lib.DeviceGetCount()
			if ret != nvml.SUCCESS || count != 8 {
				t.Fatalf("DeviceGetCount() = %d, %v", count, ret)
			}
			d, ret := lib.DeviceGetHandleByIndex(7)
			if ret != nvml.SUCCESS {
				t.Fatal(ret)
			}
			if name, ret := d.GetName(); ret != nvml.SUCCESS || name != names[model] {
				t.Errorf("GetName() = %q, %v; want %q", name, ret, names[model])
			}
			if limit, ret := d.GetPowerManagementLimit(); ret != nvml.SUCCESS || limit != uint32(gpuClasses[model].maxWatts)*1000 {
				t.Errorf("GetPowerManagementLimit() = %d, %v; want %d W", limit, ret, gpuClasses[model].maxWatts)
			}
			root := t.TempDir()
			if err := m.WriteSysfs(root); err != nil {
				t.Fatal(err)
			}
			numa, err := os.ReadFile(filepath.Join(root, "sys/bus/pci/devices", m.GPUs[7].PCIBusID, "numa_node"))
			if err != nil || strings.TrimSpace(string(numa)) != "1" {
				t.Errorf("GPU 7 numa_node = %q, %v; want 1", numa, err)
			}
		})
	}
}

func TestBuildMachineRejectsInvalidNode(t *testing.T) {
	if _, err := BuildMachine(Node{Name: "n", CPUMilli: 8000, MemoryMiB: 1, GPUs: 2, Model: "K80", Line: 9}); err == nil ||
		!strings.Contains(err.Error(), `node "n" (line 9): column model: unknown GPU model "K80"`) {
		t.Errorf("BuildMachine(K80) = %v", err)
	}
}
