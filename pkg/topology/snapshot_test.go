package topology

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/dynamic-resource-allocation/deviceattribute"
	"k8s.io/utils/cpuset"
)

// The facts below were read from the snapshots' files: cpu/online or the
// cpuN/online files, topology/*, cache/index3/*, node*/cpulist, meminfo
// and distance, and sys/bus/pci/devices/*/{class,vendor,numa_node}. The
// snapshots are ghw's, but for testdata/linux-amd64-h200-vm, which
// Capture took of a virtual machine with an H200 passed through.
func TestSnapshots(t *testing.T) {
	tests := []struct {
		snapshot string
		model    string // substring of CPUModel
		cpus     string
		sockets  []int
		nodes    []int
		cores    int
		threads  int
		gpus     []string
		nics     int
		// warnings are substrings of the expected warnings' paths, in
		// order; there must be no others.
		warnings []string
		check    func(t *testing.T, topo *Topology)
	}{
		{
			// Two Xeon L5640 (6 cores, HT) with one node each; CPUs
			// alternate between the sockets and socket 1 holds CPU 0.
			snapshot: "linux-amd64-8581cf3a529e5d8b97ea876eade2f60d",
			model:    "L5640", cpus: "0-23", sockets: []int{0, 1}, nodes: []int{0, 1}, cores: 12, threads: 2,
			nics: 14,
			warnings: []string{
				"sys/devices/system/cpu/online", // the snapshot lacks it
				"0000:01:00.0/numa_node", "0000:01:00.1/numa_node", "0000:02:00.0/numa_node", "0000:02:00.1/numa_node",
			},
			check: func(t *testing.T, topo *Topology) {
				wantCPU(t, topo, CPU{ID: 0, Socket: 1, Core: 0, Node: 0, L3: 1, Siblings: cpuset.New(0, 12)})
				wantCPU(t, topo, CPU{ID: 13, Socket: 0, Core: 0, Node: 1, L3: 0, Siblings: cpuset.New(1, 13)})
				wantCPU(t, topo, CPU{ID: 22, Socket: 1, Core: 10, Node: 0, L3: 1, Siblings: cpuset.New(10, 22)})
				wantNode(t, topo, 0, "0,2,4,6,8,10,12,14,16,18,20,22", 32980312<<10, map[int]int{0: 10, 1: 20})
				wantNode(t, topo, 1, "1,3,5,7,9,11,13,15,17,19,21,23", 32940968<<10, map[int]int{0: 20, 1: 10})
				if s := topo.Socket(1); s == nil || !slices.Equal(s.Nodes, []int{0}) {
					t.Errorf("socket 1 = %+v, want nodes [0]", s)
				}
				// igb PF functions report their node; the bnx2 ones -1.
				wantNIC(t, topo, "0000:05:00.1", 1, "pci0000:00", "igb")
				wantNIC(t, topo, "0000:01:00.0", Unknown, "pci0000:00", "bnx2")
				if topo.GPU("0000:07:03.0") != nil {
					t.Error("the BMC's Matrox VGA is listed as a GPU")
				}
			},
		},
		{
			// A virtual machine with CPUs 2 and 3 taken offline: they keep
			// their cpuN directories and node links but are not listed.
			snapshot: "linux-amd64-offlineCPUs",
			model:    "Skylake", cpus: "0-1", sockets: []int{0, 1}, nodes: []int{0}, cores: 2, threads: 1,
			check: func(t *testing.T, topo *Topology) {
				wantCPU(t, topo, CPU{ID: 0, Socket: 0, Core: 0, Node: 0, L3: 0, Siblings: cpuset.New(0)})
				wantCPU(t, topo, CPU{ID: 1, Socket: 1, Core: 0, Node: 0, L3: 1, Siblings: cpuset.New(1)})
				for _, id := range []int{2, 3} {
					if topo.CPU(id) != nil {
						t.Errorf("offline CPU %d is listed", id)
					}
				}
				wantNode(t, topo, 0, "0-1", 7881912<<10, map[int]int{0: 10})
			},
		},
		{
			// A virtual machine with a passed-through Tesla P100 and a
			// virtio GPU, which is no accelerator.
			snapshot: "linux-amd64-accel-nvidia",
			model:    "E5-2695 v4", cpus: "0-7", sockets: []int{0}, nodes: []int{0}, cores: 8, threads: 1,
			gpus: []string{"0000:06:00.0"}, nics: 1,
			warnings: []string{"sys/devices/system/cpu/online"},
			check: func(t *testing.T, topo *Topology) {
				wantGPU(t, topo, PCIDevice{Address: "0000:06:00.0", Vendor: VendorNVIDIA, Device: 0x15f8, Class: 0x030200,
					NUMANode: Unknown, PCIeRoot: "pci0000:00", Driver: "nvidia"})
				// virtio-net without a netdev in the snapshot.
				n := topo.NIC("0000:05:00.0")
				if n == nil || n.Interface != "" || n.RDMA != nil || n.Driver != "virtio-pci" {
					t.Errorf("NIC = %+v", n)
				}
				wantNode(t, topo, 0, "0-7", 30601816<<10, map[int]int{0: 10})
			},
		},
		{
			// Ryzen 5 1600: two core complexes with an L3 each, and a
			// node directory without meminfo.
			snapshot: "linux-amd64-61797caf7c0b6bca1725ad7975ed4773",
			model:    "Ryzen 5 1600", cpus: "0-11", sockets: []int{0}, nodes: []int{0}, cores: 6, threads: 2,
			gpus: []string{"0000:0a:00.0"}, nics: 4,
			warnings: []string{"sys/devices/system/cpu/online", "sys/devices/system/node/node0/meminfo"},
			check: func(t *testing.T, topo *Topology) {
				groups := topo.L3Groups()
				if len(groups) != 2 || groups[0].String() != "0-2,6-8" || groups[1].String() != "3-5,9-11" {
					t.Errorf("L3 groups = %v, want 0: 0-2,6-8 and 1: 3-5,9-11", groups)
				}
				wantCPU(t, topo, CPU{ID: 9, Socket: 0, Core: 4, Node: 0, L3: 1, Siblings: cpuset.New(3, 9)})
				if n := topo.Node(0); n.MemoryBytes != 0 {
					t.Errorf("node 0 memory = %d without meminfo, want 0", n.MemoryBytes)
				}
				if g := topo.GPU("0000:0a:00.0"); g.Vendor != VendorAMD {
					t.Errorf("GPU vendor = %#x, want AMD", g.Vendor)
				}
				if n := topo.NIC("0000:06:00.1"); n == nil || n.Interface != "enp6s0f1" {
					t.Errorf("NIC 0000:06:00.1 = %+v, want interface enp6s0f1", n)
				}
			},
		},
		{
			// A virtual machine with one H200 and a virtio-net NIC, whose
			// netdev sits below the virtio device.
			snapshot: "testdata/linux-amd64-h200-vm",
			model:    "Intel(R) Xeon(R) Processor", cpus: "0-15", sockets: []int{0}, nodes: []int{0}, cores: 16, threads: 1,
			gpus: []string{"0000:00:06.0"}, nics: 1,
			check: func(t *testing.T, topo *Topology) {
				wantGPU(t, topo, PCIDevice{Address: "0000:00:06.0", Vendor: VendorNVIDIA, Device: 0x2335, Class: 0x030200,
					NUMANode: Unknown, PCIeRoot: "pci0000:00", Driver: "nvidia"})
				n := topo.NIC("0000:00:03.0")
				if n == nil || n.Interface != "eth0" || n.MAC != "02:00:00:00:00:01" || n.RDMA != nil || n.Driver != "virtio-pci" {
					t.Errorf("NIC = %+v, want virtio-pci eth0 with the captured made-up MAC", n)
				}
				wantCPU(t, topo, CPU{ID: 5, Socket: 0, Core: 5, Node: 0, L3: 0, Siblings: cpuset.New(5)})
				wantNode(t, topo, 0, "0-15", 4550128<<10, map[int]int{0: 10})
			},
		},
		{
			// Alder Lake i7-1270P: 4 performance cores with two threads
			// and 8 efficiency cores with one.
			snapshot: "linux-amd64-415ee03b8c4d1c4f07ae2e9d8b3d3d6d",
			model:    "i7-1270P", cpus: "0-15", sockets: []int{0}, nodes: []int{0}, cores: 12, threads: 2,
			gpus: []string{"0000:00:02.0"}, nics: 1,
			warnings: []string{"sys/devices/system/cpu/online"},
			check: func(t *testing.T, topo *Topology) {
				wantCPU(t, topo, CPU{ID: 1, Socket: 0, Core: 0, Node: 0, L3: 0, Siblings: cpuset.New(0, 1)})
				wantCPU(t, topo, CPU{ID: 8, Socket: 0, Core: 16, Node: 0, L3: 0, Siblings: cpuset.New(8)})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.snapshot, func(t *testing.T) {
			t.Parallel()
			root := snapshotRoot(t, tc.snapshot)
			topo, err := Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(topo.CPUModel, tc.model) {
				t.Errorf("CPUModel = %q, want it to contain %q", topo.CPUModel, tc.model)
			}
			if got := topo.CPUSet().String(); got != tc.cpus {
				t.Errorf("CPUs = %s, want %s", got, tc.cpus)
			}
			if got := socketIDs(topo); !slices.Equal(got, tc.sockets) {
				t.Errorf("sockets = %v, want %v", got, tc.sockets)
			}
			if got := nodeIDs(topo); !slices.Equal(got, tc.nodes) {
				t.Errorf("nodes = %v, want %v", got, tc.nodes)
			}
			if got := topo.Cores(); got != tc.cores {
				t.Errorf("cores = %d, want %d", got, tc.cores)
			}
			if got := topo.ThreadsPerCore(); got != tc.threads {
				t.Errorf("threads per core = %d, want %d", got, tc.threads)
			}
			var gpus []string
			for _, g := range topo.GPUs {
				gpus = append(gpus, g.Address)
			}
			if !slices.Equal(gpus, tc.gpus) {
				t.Errorf("GPUs = %v, want %v", gpus, tc.gpus)
			}
			if len(topo.NICs) != tc.nics {
				t.Errorf("%d NICs, want %d", len(topo.NICs), tc.nics)
			}
			wantWarnings(t, topo, tc.warnings...)
			checkConsistent(t, topo)
			checkPCIeRoots(t, topo)
			if tc.check != nil {
				tc.check(t, topo)
			}
		})
	}
}

func socketIDs(topo *Topology) []int {
	var ids []int
	for _, s := range topo.Sockets {
		ids = append(ids, s.ID)
	}
	return ids
}

func nodeIDs(topo *Topology) []int {
	var ids []int
	for _, n := range topo.Nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func wantCPU(t *testing.T, topo *Topology, want CPU) {
	t.Helper()
	got := topo.CPU(want.ID)
	if got == nil {
		t.Errorf("CPU %d missing", want.ID)
		return
	}
	if got.Socket != want.Socket || got.Core != want.Core || got.Node != want.Node || got.L3 != want.L3 ||
		!got.Siblings.Equals(want.Siblings) {
		t.Errorf("CPU %d = %+v (siblings %s), want %+v (siblings %s)", want.ID, *got, got.Siblings, want, want.Siblings)
	}
}

func wantNode(t *testing.T, topo *Topology, id int, cpus string, memory int64, distances map[int]int) {
	t.Helper()
	n := topo.Node(id)
	if n == nil {
		t.Errorf("node %d missing", id)
		return
	}
	if n.CPUs.String() != cpus || n.MemoryBytes != memory || !maps.Equal(n.Distances, distances) {
		t.Errorf("node %d = CPUs %s, %d bytes, distances %v; want CPUs %s, %d bytes, distances %v",
			id, n.CPUs, n.MemoryBytes, n.Distances, cpus, memory, distances)
	}
}

// wantGPU checks the GPU at want.Address, all but its names: they come
// from the PCI database of the machine running the test.
func wantGPU(t *testing.T, topo *Topology, want PCIDevice) {
	t.Helper()
	g := topo.GPU(want.Address)
	if g == nil {
		t.Errorf("GPU %s missing", want.Address)
		return
	}
	want.VendorName, want.ProductName = g.VendorName, g.ProductName
	if *g != want {
		t.Errorf("GPU = %+v, want %+v", *g, want)
	}
}

func wantNIC(t *testing.T, topo *Topology, addr string, node int, pcieRoot, driver string) {
	t.Helper()
	n := topo.NIC(addr)
	if n == nil {
		t.Errorf("NIC %s missing", addr)
		return
	}
	if n.NUMANode != node || n.PCIeRoot != pcieRoot || n.Driver != driver {
		t.Errorf("NIC %s = node %d, root %q, driver %q; want node %d, root %q, driver %q",
			addr, n.NUMANode, n.PCIeRoot, n.Driver, node, pcieRoot, driver)
	}
}

// wantWarnings checks that the warnings' paths contain the given
// substrings, one warning each, in order, and that there are no others.
func wantWarnings(t *testing.T, topo *Topology, paths ...string) {
	t.Helper()
	ok := len(topo.Warnings) == len(paths)
	for i := 0; ok && i < len(paths); i++ {
		ok = strings.Contains(topo.Warnings[i].Path, paths[i])
	}
	if !ok {
		var got []string
		for _, w := range topo.Warnings {
			got = append(got, w.String())
		}
		t.Errorf("warnings:\n  %s\nwant paths containing %q", strings.Join(got, "\n  "), paths)
	}
}

// checkConsistent checks what must hold for any discovered topology: the
// sockets, nodes and CPUs describe the same CPUs, siblings are symmetric
// and hold the CPU itself, and the nodes' distance rows are complete.
func checkConsistent(t *testing.T, topo *Topology) {
	t.Helper()
	all := topo.CPUSet()
	sockets, nodes := cpuset.New(), cpuset.New()
	for _, s := range topo.Sockets {
		if !sockets.Intersection(s.CPUs).IsEmpty() {
			t.Errorf("socket %d shares CPUs with another socket", s.ID)
		}
		sockets = sockets.Union(s.CPUs)
	}
	for _, n := range topo.Nodes {
		if !nodes.Intersection(n.CPUs).IsEmpty() {
			t.Errorf("node %d shares CPUs with another node", n.ID)
		}
		nodes = nodes.Union(n.CPUs)
		if len(n.Distances) > 0 && (len(n.Distances) != len(topo.Nodes) || n.Distances[n.ID] != 10) {
			t.Errorf("node %d distances %v", n.ID, n.Distances)
		}
	}
	if !sockets.Equals(all) {
		t.Errorf("sockets hold CPUs %s, want %s", sockets, all)
	}
	for _, c := range topo.CPUs {
		if !c.Siblings.Contains(c.ID) || !c.Siblings.IsSubsetOf(all) {
			t.Errorf("CPU %d siblings %s", c.ID, c.Siblings)
		}
		for _, s := range c.Siblings.List() {
			if !topo.CPU(s).Siblings.Equals(c.Siblings) {
				t.Errorf("CPU %d and its sibling %d disagree on siblings", c.ID, s)
			}
		}
		if c.Node != Unknown && !topo.Node(c.Node).CPUs.Contains(c.ID) {
			t.Errorf("CPU %d is on node %d, which does not list it", c.ID, c.Node)
		}
	}
}

// checkPCIeRoots compares every device's PCIe root with what the standard
// resource.kubernetes.io/pcieRoot attribute code finds in the same tree.
func checkPCIeRoots(t *testing.T, topo *Topology) {
	t.Helper()
	devs := append([]PCIDevice(nil), topo.GPUs...)
	for _, n := range topo.NICs {
		devs = append(devs, n.PCIDevice)
	}
	for _, d := range devs {
		attr, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(d.Address,
			deviceattribute.WithFSFromRoot(filepath.Join(topo.Root, "sys")))
		if err != nil {
			t.Errorf("deviceattribute for %s: %v", d.Address, err)
			continue
		}
		if got := *attr.Value.StringValue; got != d.PCIeRoot {
			t.Errorf("%s: PCIeRoot = %q, deviceattribute says %q", d.Address, d.PCIeRoot, got)
		}
	}
}
