package topology

import (
	"errors"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tr := newTree(t).twoSockets()
	tr.nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "400 Gb/sec (4X NDR)", "uverbs0")
	tr.nic("pci0000:97", "0000:9a:00.1", 1, "ens2f1np1", "mlx5_3", "Ethernet", "200 Gb/sec (4X HDR)", "uverbs3")
	tr.pciDevice("pci0000:97", "0000:9b:00.0", 0x030200, VendorNVIDIA, 0x2330, 1, "nvidia")
	tr.pciDevice("pci0000:00", "0000:01:00.0", 0x030200, VendorNVIDIA, 0x2330, -1, "")
	topo := tr.discover()
	// Names depend on the PCI database of the machine running the test.
	for i := range topo.GPUs {
		topo.GPUs[i].VendorName, topo.GPUs[i].ProductName = "NVIDIA Corporation", "GH100 [H100 SXM5 80GB]"
	}
	for i := range topo.NICs {
		topo.NICs[i].VendorName, topo.NICs[i].ProductName = "", ""
	}
	want := `CPU: Test CPU
2 sockets, 2 NUMA nodes, 4 cores, 8 CPUs (2 threads per core), 2 GPUs, 2 NICs

socket 0: CPUs 0-1,4-5
  NUMA node 0: CPUs 0-1,4-5 (2 cores, 4 threads), memory 1.0 GiB
    L3 0: CPUs 0-1,4-5
    NIC 0000:18:00.0 [15b3:1021] pcieRoot=pci0000:15 driver=mlx5_core if=ibp24s0 speed=400000Mb/s rdma=mlx5_0 link=InfiniBand rate=400Gb/s uverbs=uverbs0

socket 1: CPUs 2-3,6-7
  NUMA node 1: CPUs 2-3,6-7 (2 cores, 4 threads), memory 2.0 GiB
    L3 1: CPUs 2-3,6-7
    GPU 0000:9b:00.0 [10de:2330] NVIDIA Corporation GH100 [H100 SXM5 80GB] pcieRoot=pci0000:97 driver=nvidia
    NIC 0000:9a:00.1 [15b3:1021] pcieRoot=pci0000:97 driver=mlx5_core if=ens2f1np1 speed=400000Mb/s rdma=mlx5_3 link=Ethernet rate=200Gb/s uverbs=uverbs3

devices without a NUMA node:
    GPU 0000:01:00.0 [10de:2330] NVIDIA Corporation GH100 [H100 SXM5 80GB] pcieRoot=pci0000:00

NUMA distances:
          0    1
     0   10   21
     1   21   10

warnings:
  sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/numa_node: is -1: the firmware reports no affinity on a machine with 2 NUMA nodes; NUMA node unknown
`
	got := render(t, topo)
	if got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
	for range 5 {
		if again := render(t, topo); again != got {
			t.Fatalf("Render is not deterministic:\n%s\nthen:\n%s", got, again)
		}
	}
}

// TestRenderOddTopologies draws topologies no discovery produces on a
// healthy machine; the diagram must still show every CPU.
func TestRenderOddTopologies(t *testing.T) {
	topo := newTree(t).twoSockets().discover()
	for i := range topo.CPUs {
		topo.CPUs[i].Socket = Unknown
		topo.CPUs[i].L3 = Unknown
	}
	topo.Sockets = []Socket{{ID: Unknown, CPUs: topo.CPUSet(), Nodes: []int{0, 1}}}
	topo.Nodes[1].MemoryBytes = 0
	got := render(t, topo)
	for _, want := range []string{
		"socket ?: CPUs 0-7",
		"NUMA node 1: CPUs 2-3,6-7 (2 cores, 4 threads), memory unknown",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diagram lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "L3") {
		t.Errorf("diagram shows L3 groups that are unknown:\n%s", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderWriteError(t *testing.T) {
	topo := newTree(t).twoSockets().discover()
	if err := Render(failingWriter{}, topo); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Render to a failing writer = %v", err)
	}
}
