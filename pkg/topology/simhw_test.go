package topology

import (
	"math"
	"testing"

	"github.com/hadron-sched/hadron/pkg/simhw"
)

// TestSimulatedMachines discovers the fake trees of hadron's simulated
// machines and checks them against the machine descriptions.
func TestSimulatedMachines(t *testing.T) {
	tests := []struct {
		machine string
		cpus    string
		nodes   []string // CPUs of each node
	}{
		// Linux x86 numbering: thread 0 of every core first, then the
		// second threads; a node's cores are contiguous.
		{machine: "dgxh100", cpus: "0-223", nodes: []string{"0-55,112-167", "56-111,168-223"}},
		{machine: "dgxa100", cpus: "0-255", nodes: []string{
			"0-15,128-143", "16-31,144-159", "32-47,160-175", "48-63,176-191",
			"64-79,192-207", "80-95,208-223", "96-111,224-239", "112-127,240-255",
		}},
		{machine: "workstation", cpus: "0-31", nodes: []string{"0-31"}},
	}
	for _, tc := range tests {
		t.Run(tc.machine, func(t *testing.T) {
			t.Parallel()
			m, root := machineRoot(t, tc.machine)
			topo, err := Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			c := m.CPU
			if topo.CPUModel != c.Model {
				t.Errorf("CPUModel = %q, want %q", topo.CPUModel, c.Model)
			}
			if got := topo.CPUSet().String(); got != tc.cpus {
				t.Errorf("CPUs = %s, want %s", got, tc.cpus)
			}
			if len(topo.Sockets) != c.Sockets || topo.Cores() != c.Sockets*c.CoresPerSocket ||
				topo.ThreadsPerCore() != c.ThreadsPerCore {
				t.Errorf("%d sockets, %d cores, %d threads per core; want %d, %d, %d", len(topo.Sockets), topo.Cores(),
					topo.ThreadsPerCore(), c.Sockets, c.Sockets*c.CoresPerSocket, c.ThreadsPerCore)
			}
			if len(topo.Nodes) != len(tc.nodes) {
				t.Fatalf("%d nodes, want %d", len(topo.Nodes), len(tc.nodes))
			}
			perNode := int64(c.MemoryGiB) << 30 / int64(len(tc.nodes))
			for i, n := range topo.Nodes {
				if n.ID != i || n.CPUs.String() != tc.nodes[i] || n.MemoryBytes != perNode || n.Distances[i] != 10 {
					t.Errorf("node %d: CPUs %s, %d bytes, distances %v; want node %d, CPUs %s, %d bytes",
						n.ID, n.CPUs, n.MemoryBytes, n.Distances, i, tc.nodes[i], perNode)
				}
			}
			if len(topo.GPUs) != len(m.GPUs) {
				t.Fatalf("%d GPUs, want %d", len(topo.GPUs), len(m.GPUs))
			}
			for _, want := range m.GPUs {
				g := topo.GPU(want.PCIBusID)
				if g == nil {
					t.Errorf("GPU %s missing", want.PCIBusID)
					continue
				}
				if g.NUMANode != want.NUMANode || g.PCIeRoot != want.PCIeRoot || g.Vendor != VendorNVIDIA || g.Driver != "nvidia" {
					t.Errorf("GPU %s: node %d, root %q, vendor %#x, driver %q; want node %d, root %q, NVIDIA, nvidia",
						g.Address, g.NUMANode, g.PCIeRoot, g.Vendor, g.Driver, want.NUMANode, want.PCIeRoot)
				}
			}
			// L3 caches are shared by CoresPerL3 cores, or by a node's.
			perL3 := c.CoresPerL3
			if perL3 == 0 {
				perL3 = c.CoresPerSocket / c.NUMANodesPerSocket
			}
			if got, want := len(topo.L3Groups()), c.Sockets*c.CoresPerSocket/perL3; got != want {
				t.Errorf("%d L3 groups, want %d", got, want)
			}
			checkMachineNICs(t, topo, m)
			wantWarnings(t, topo) // the fake tree lacks nothing discovery reads
			checkConsistent(t, topo)
			checkPCIeRoots(t, topo)
		})
	}
}

// checkMachineNICs compares the NICs found with the machine's.
func checkMachineNICs(t *testing.T, topo *Topology, m *simhw.Machine) {
	t.Helper()
	if len(topo.NICs) != len(m.NICs) {
		t.Errorf("%d NICs, want %d", len(topo.NICs), len(m.NICs))
	}
	for _, want := range m.NICs {
		n := topo.NIC(want.PCIBusID)
		if n == nil {
			t.Errorf("NIC %s missing", want.PCIBusID)
			continue
		}
		if n.NUMANode != want.NUMANode || n.PCIeRoot != want.PCIeRoot || n.Interface != want.Interface ||
			n.SpeedMbps != int64(math.Round(want.SpeedGbps*1000)) {
			t.Errorf("NIC %s: node %d, root %q, interface %q, %d Mb/s; want node %d, root %q, interface %q, %g Gb/s",
				n.Address, n.NUMANode, n.PCIeRoot, n.Interface, n.SpeedMbps, want.NUMANode, want.PCIeRoot, want.Interface, want.SpeedGbps)
		}
		switch ll := LinkLayer(want.LinkLayer); ll {
		case LinkLayerInfiniBand, LinkLayerEthernet:
			if n.RDMA == nil || n.RDMA.LinkLayer != ll || n.RDMA.Uverbs == "" ||
				n.RDMA.RateGbps != int64(want.SpeedGbps) {
				t.Errorf("NIC %s: RDMA %+v, want %s at %g Gb/s with a uverbs device", n.Address, n.RDMA, ll, want.SpeedGbps)
			}
		default:
			if n.RDMA != nil {
				t.Errorf("NIC %s: RDMA %+v, want none", n.Address, n.RDMA)
			}
		}
	}
}
