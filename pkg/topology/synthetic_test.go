package topology

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaypipes/ghw/pkg/snapshot"
	"k8s.io/utils/cpuset"
)

const (
	ibAddr  = "0000:18:00.0"
	ibRoot  = "pci0000:15"
	ibDir   = "sys/devices/pci0000:15/0000:15:01.0/0000:18:00.0"
	cpu0Top = "sys/devices/system/cpu/cpu0/topology/"
)

// TestSyntheticTrees discovers small hand-written trees: NIC flavours and
// broken or odd files. Each broken file must cost only what it describes,
// with a warning naming it.
func TestSyntheticTrees(t *testing.T) {
	tests := []struct {
		name  string
		build func(tr *tree)
		// warnings are substrings of the expected warnings' paths, in
		// order; there must be no others.
		warnings []string
		check    func(t *testing.T, topo *Topology)
	}{
		{
			name: "InfiniBand NIC",
			build: func(tr *tree) {
				tr.twoSockets().nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "400 Gb/sec (4X NDR)", "uverbs0")
			},
			check: func(t *testing.T, topo *Topology) {
				n := topo.NIC(ibAddr)
				want := NIC{
					PCIDevice: PCIDevice{Address: ibAddr, Vendor: 0x15b3, Device: 0x1021, Class: 0x020000,
						NUMANode: 0, PCIeRoot: ibRoot, Driver: "mlx5_core", VendorName: n.VendorName, ProductName: n.ProductName},
					Interface: "ibp24s0", MAC: "b8:3f:d2:aa:bb:cc", SpeedMbps: 400000,
					RDMA: &RDMADevice{Name: "mlx5_0", LinkLayer: LinkLayerInfiniBand, RateGbps: 400, Uverbs: "uverbs0"},
				}
				if !reflect.DeepEqual(*n, want) {
					t.Errorf("NIC = %+v (RDMA %+v), want %+v (RDMA %+v)", *n, n.RDMA, want, want.RDMA)
				}
			},
		},
		{
			name: "RoCE NIC whose verbs directory lists another device first",
			build: func(tr *tree) {
				dir := tr.twoSockets().nic("pci0000:97", "0000:9a:00.1", 1, "ens2f1np1", "mlx5_3", "Ethernet", "200 Gb/sec (4X HDR)", "uverbs3")
				tr.file(dir+"/infiniband_verbs/uverbs2/ibdev", "mlx5_2")
			},
			check: func(t *testing.T, topo *Topology) {
				n := topo.NIC("0000:9a:00.1")
				want := RDMADevice{Name: "mlx5_3", LinkLayer: LinkLayerEthernet, RateGbps: 200, Uverbs: "uverbs3"}
				if n.RDMA == nil || *n.RDMA != want || n.NUMANode != 1 || n.PCIeRoot != "pci0000:97" || n.Interface != "ens2f1np1" {
					t.Errorf("NIC = %+v (RDMA %+v), want node 1, pci0000:97, ens2f1np1 with %+v", *n, n.RDMA, want)
				}
			},
		},
		{
			name: "NIC without RDMA and with its link down",
			build: func(tr *tree) {
				dir := tr.twoSockets().pciDevice("pci0000:00", "0000:03:00.0", 0x020000, 0x8086, 0x15f3, 0, "igc")
				tr.file(dir+"/net/enp3s0/address", "a0:36:9f:00:00:01").file(dir+"/net/enp3s0/speed", "-1")
			},
			check: func(t *testing.T, topo *Topology) {
				n := topo.NIC("0000:03:00.0")
				if n.RDMA != nil || n.Interface != "enp3s0" || n.SpeedMbps != 0 || n.Driver != "igc" {
					t.Errorf("NIC = %+v, want enp3s0 without RDMA, speed unknown, driver igc", *n)
				}
			},
		},
		{
			name: "virtio-net NIC: the netdev hangs off the virtio device",
			build: func(tr *tree) {
				dir := tr.twoSockets().pciDevice("pci0000:00", "0000:00:03.0", 0x020000, 0x1af4, 0x1041, -1, "virtio-pci")
				tr.file(dir+"/virtio2/net/eth0/address", "02:fc:00:00:00:01").file(dir+"/virtio2/net/eth0/speed", "-1").
					file(dir+"/virtio2/vendor", "0x1af4")
			},
			warnings: []string{"0000:00:03.0/numa_node"},
			check: func(t *testing.T, topo *Topology) {
				if n := topo.NIC("0000:00:03.0"); n.Interface != "eth0" || n.MAC != "02:fc:00:00:00:01" || n.RDMA != nil {
					t.Errorf("NIC = %+v, want eth0 02:fc:00:00:00:01 without RDMA", *n)
				}
			},
		},
		{
			name: "a NIC outside any host bridge has no PCIe root",
			build: func(tr *tree) {
				dir := "sys/devices/LNXSYSTM:00/VMBUS:00/7870a0f1/pci7870:00/7870:00:00.0"
				tr.twoSockets().file(dir+"/class", "0x020000").file(dir+"/vendor", "0x15b3").file(dir+"/device", "0x101a").
					file(dir+"/numa_node", "0").link("sys/bus/pci/devices/7870:00:00.0", dir)
				// An unrelated function in the same place is no warning.
				other := "sys/devices/LNXSYSTM:00/VMBUS:00/1234/pci1234:00/1234:00:00.0"
				tr.file(other+"/class", "0x010802").link("sys/bus/pci/devices/1234:00:00.0", other)
			},
			warnings: []string{"sys/bus/pci/devices/7870:00:00.0"},
			check: func(t *testing.T, topo *Topology) {
				if n := topo.NIC("7870:00:00.0"); n == nil || n.PCIeRoot != "" || n.NUMANode != 0 {
					t.Errorf("NIC = %+v, want no PCIe root, node 0", n)
				}
			},
		},
		{
			name: "numa_node -1 on a two-node machine",
			build: func(tr *tree) {
				tr.twoSockets().pciDevice("pci0000:00", "0000:01:00.0", 0x030200, VendorNVIDIA, 0x2330, -1, "nvidia")
			},
			warnings: []string{"0000:01:00.0/numa_node"},
			check: func(t *testing.T, topo *Topology) {
				if g := topo.GPU("0000:01:00.0"); g.NUMANode != Unknown || g.PCIeRoot != "pci0000:00" {
					t.Errorf("GPU = %+v, want node unknown on pci0000:00", *g)
				}
			},
		},
		{
			name: "numa_node -1 on a one-node machine is normal",
			build: func(tr *tree) {
				tr.machine([]cpuSpec{{id: 0, siblings: "0", l3Shared: "0"}}, map[int]string{0: "0"}, map[int]string{0: "10"}).
					pciDevice("pci0000:00", "0000:01:00.0", 0x030000, VendorAMD, 0x744c, -1, "amdgpu")
			},
			check: func(t *testing.T, topo *Topology) {
				if g := topo.GPU("0000:01:00.0"); g == nil || g.NUMANode != Unknown {
					t.Errorf("GPU = %+v, want node unknown", g)
				}
			},
		},
		{
			name: "display controllers of other vendors are no GPUs",
			build: func(tr *tree) {
				tr.twoSockets().pciDevice("pci0000:00", "0000:02:00.0", 0x030000, 0x1a03, 0x2000, 0, "ast")
				tr.pciDevice("pci0000:00", "0000:03:00.0", 0x030000, VendorIntel, 0x56a0, 0, "i915")
			},
			check: func(t *testing.T, topo *Topology) {
				if len(topo.GPUs) != 1 || topo.GPUs[0].Address != "0000:03:00.0" {
					t.Errorf("GPUs = %+v, want only the Intel one", topo.GPUs)
				}
			},
		},
		{
			name: "device behind a VMD domain",
			build: func(tr *tree) {
				tr.twoSockets().pciDevice("pci10000:00", "10000:01:00.0", 0x020000, 0x15b3, 0x1021, 1, "")
			},
			check: func(t *testing.T, topo *Topology) {
				if n := topo.NIC("10000:01:00.0"); n == nil || n.PCIeRoot != "pci10000:00" || n.NUMANode != 1 {
					t.Errorf("NIC = %+v, want root pci10000:00 on node 1", n)
				}
			},
		},
		{
			name: "offline CPUs keep their directories but are left out",
			build: func(tr *tree) {
				tr.twoSockets().file("sys/devices/system/cpu/online", "0-3,6-7").
					remove("sys/devices/system/cpu/cpu4/topology").remove("sys/devices/system/cpu/cpu5/topology").
					file("sys/devices/system/cpu/cpu4/online", "0").file("sys/devices/system/cpu/cpu5/online", "0")
			},
			check: func(t *testing.T, topo *Topology) {
				if got := topo.CPUSet().String(); got != "0-3,6-7" {
					t.Errorf("CPUs = %s", got)
				}
				wantCPU(t, topo, CPU{ID: 0, Socket: 0, Core: 0, Node: 0, L3: 0, Siblings: cpuset.New(0)})
				if n := topo.Node(0); n.CPUs.String() != "0-1" {
					t.Errorf("node 0 CPUs = %s, want 0-1", n.CPUs)
				}
				if g := topo.L3Groups()[0]; g.String() != "0-1" {
					t.Errorf("L3 group 0 = %s, want 0-1", g)
				}
			},
		},
		{
			name: "without cpu/online, the cpuN/online files decide",
			build: func(tr *tree) {
				tr.twoSockets().remove("sys/devices/system/cpu/online").
					file("sys/devices/system/cpu/cpu1/online", "1").file("sys/devices/system/cpu/cpu7/online", "0").
					file("sys/devices/system/cpu/cpu6/online", "maybe")
			},
			warnings: []string{"sys/devices/system/cpu/online", "cpu6/online"},
			check: func(t *testing.T, topo *Topology) {
				if got := topo.CPUSet().String(); got != "0-6" {
					t.Errorf("CPUs = %s, want 0-6", got)
				}
			},
		},
		{
			name: "garbage cpulist: the CPUs' node links place them",
			build: func(tr *tree) {
				tr.twoSockets().file("sys/devices/system/node/node0/cpulist", "0-1,zz\x00")
			},
			warnings: []string{"node0/cpulist"},
			check: func(t *testing.T, topo *Topology) {
				wantNode(t, topo, 0, "0-1,4-5", 1<<30, map[int]int{0: 10, 1: 21})
			},
		},
		{
			name: "a CPU in no node",
			build: func(tr *tree) {
				tr.twoSockets().file("sys/devices/system/node/node1/cpulist", "2-3,6").
					remove("sys/devices/system/cpu/cpu7/node1")
			},
			warnings: []string{"sys/devices/system/cpu/cpu7"},
			check: func(t *testing.T, topo *Topology) {
				if c := topo.CPU(7); c.Node != Unknown {
					t.Errorf("CPU 7 on node %d, want unknown", c.Node)
				}
				if !strings.Contains(render(t, topo), "CPUs without a NUMA node: 7") {
					t.Error("the diagram does not show CPU 7 without node")
				}
			},
		},
		{
			name: "a directory where a file should be",
			build: func(tr *tree) {
				tr.twoSockets().remove(cpu0Top + "core_id").dir(cpu0Top + "core_id")
			},
			warnings: []string{cpu0Top + "core_id"},
			check: func(t *testing.T, topo *Topology) {
				// The sibling list still pairs it with CPU 4.
				wantCPU(t, topo, CPU{ID: 0, Socket: 0, Core: Unknown, Node: 0, L3: 0, Siblings: cpuset.New(0, 4)})
				if !strings.Contains(topo.Warnings[0].Message, "is a directory") {
					t.Errorf("warning %q does not say why", topo.Warnings[0])
				}
			},
		},
		{
			name: "dangling links",
			build: func(tr *tree) {
				tr.twoSockets().remove(cpu0Top+"thread_siblings_list").
					link(cpu0Top+"thread_siblings_list", "sys/nowhere").
					link("sys/bus/pci/devices/0000:07:00.0", "sys/devices/pci0000:00/0000:00:01.0/0000:07:00.0")
				dir := tr.pciDevice("pci0000:00", "0000:08:00.0", 0x030200, VendorNVIDIA, 0x2330, 0, "nvidia")
				tr.remove(dir+"/numa_node").link(dir+"/numa_node", "sys/nowhere")
			},
			warnings: []string{cpu0Top + "thread_siblings_list", "sys/bus/pci/devices/0000:07:00.0", "0000:08:00.0/numa_node"},
			check: func(t *testing.T, topo *Topology) {
				// Siblings fall back to the CPUs of the same core.
				wantCPU(t, topo, CPU{ID: 0, Socket: 0, Core: 0, Node: 0, L3: 0, Siblings: cpuset.New(0, 4)})
				if len(topo.GPUs) != 1 || topo.GPUs[0].NUMANode != Unknown {
					t.Errorf("GPUs = %+v, want 0000:08:00.0 with node unknown", topo.GPUs)
				}
			},
		},
		{
			name: "no /proc/cpuinfo",
			build: func(tr *tree) {
				tr.twoSockets().remove("proc/cpuinfo")
			},
			warnings: []string{"proc/cpuinfo"},
			check: func(t *testing.T, topo *Topology) {
				if topo.CPUModel != "" || len(topo.CPUs) != 8 {
					t.Errorf("model %q, %d CPUs; want no model, 8 CPUs", topo.CPUModel, len(topo.CPUs))
				}
			},
		},
		{
			name: "a cpuinfo without model name: ghw reads the other fields",
			build: func(tr *tree) {
				var b strings.Builder
				for id := range 8 {
					fmt.Fprintf(&b, "processor\t: %d\nProcessor\t: ARMv7 Processor rev 4 (v7l)\nCPU implementer\t: 0x41\n\n", id)
				}
				tr.twoSockets().file("proc/cpuinfo", b.String())
			},
			check: func(t *testing.T, topo *Topology) {
				if want := "ARMv7 Processor rev 4 (v7l)"; topo.CPUModel != want {
					t.Errorf("model %q, want %q", topo.CPUModel, want)
				}
			},
		},
		{
			name: "a FIFO where a file should be does not block",
			build: func(tr *tree) {
				tr.twoSockets().remove(cpu0Top + "physical_package_id")
				if err := syscall.Mkfifo(tr.path(cpu0Top+"physical_package_id"), 0o644); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			},
			warnings: []string{cpu0Top + "physical_package_id"},
			check: func(t *testing.T, topo *Topology) {
				if c := topo.CPU(0); c.Socket != Unknown {
					t.Errorf("CPU 0 socket %d, want unknown", c.Socket)
				}
			},
		},
		{
			name: "garbage rate and link layer",
			build: func(tr *tree) {
				dir := tr.twoSockets().nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "fast", "uverbs0")
				tr.file(dir+"/infiniband/mlx5_0/ports/1/link_layer", "")
			},
			warnings: []string{"ports/1/link_layer", "ports/1/rate"},
			check: func(t *testing.T, topo *Topology) {
				if r := topo.NIC(ibAddr).RDMA; r == nil || r.Name != "mlx5_0" || r.RateGbps != 0 || r.Uverbs != "uverbs0" {
					t.Errorf("RDMA = %+v, want mlx5_0 with rate unknown", r)
				}
			},
		},
		{
			name: "an absolute bus link is taken inside the root",
			build: func(tr *tree) {
				tr.twoSockets()
				dir := tr.pciDevice(ibRoot, ibAddr, 0x020000, 0x15b3, 0x1021, 1, "")
				link := tr.path("sys/bus/pci/devices/" + ibAddr)
				if err := os.Remove(link); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/"+dir, link); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, topo *Topology) {
				if n := topo.NIC(ibAddr); n == nil || n.NUMANode != 1 || n.PCIeRoot != ibRoot {
					t.Errorf("NIC = %+v, want node 1 on %s", n, ibRoot)
				}
			},
		},
		{
			name: "L3 without cache ids: groups from shared_cpu_list",
			build: func(tr *tree) {
				tr.twoSockets()
				for id := range 8 {
					tr.remove("sys/devices/system/cpu/cpu" + strconv.Itoa(id) + "/cache/index3/id")
				}
			},
			check: func(t *testing.T, topo *Topology) {
				groups := topo.L3Groups()
				if len(groups) != 2 || groups[0].String() != "0-1,4-5" || groups[1].String() != "2-3,6-7" {
					t.Errorf("L3 groups = %v", groups)
				}
			},
		},
		{
			name: "L3 ids that do not identify caches",
			build: func(tr *tree) {
				tr.twoSockets()
				for id := range 8 {
					tr.file("sys/devices/system/cpu/cpu"+strconv.Itoa(id)+"/cache/index3/id", "5")
				}
			},
			warnings: []string{"sys/devices/system/cpu/cpu*/cache"},
			check: func(t *testing.T, topo *Topology) {
				if c := topo.CPU(6); c.L3 != 1 {
					t.Errorf("CPU 6 in L3 group %d, want 1", c.L3)
				}
			},
		},
		{
			name: "no cache information: one warning for all CPUs",
			build: func(tr *tree) {
				tr.twoSockets()
				for id := range 8 {
					tr.remove("sys/devices/system/cpu/cpu" + strconv.Itoa(id) + "/cache")
				}
			},
			warnings: []string{"sys/devices/system/cpu/cpu*/cache"},
			check: func(t *testing.T, topo *Topology) {
				if len(topo.L3Groups()) != 0 {
					t.Errorf("L3 groups %v without cache information", topo.L3Groups())
				}
				if w := topo.Warnings[0]; !strings.HasSuffix(w.Message, "(CPUs 0-7)") {
					t.Errorf("warning %q does not list the CPUs", w)
				}
			},
		},
		{
			name: "no NUMA support: one node with all CPUs and memory",
			build: func(tr *tree) {
				tr.twoSockets().remove("sys/devices/system/node").
					file("proc/meminfo", "MemTotal:       16318412 kB\nMemFree:         1 kB")
				for id := range 8 {
					tr.remove("sys/devices/system/cpu/cpu" + strconv.Itoa(id) + "/node" + strconv.Itoa((id%4)/2))
				}
			},
			check: func(t *testing.T, topo *Topology) {
				wantNode(t, topo, 0, "0-7", 16318412<<10, nil)
				if s := topo.Socket(1); s == nil || len(s.Nodes) != 1 || s.Nodes[0] != 0 {
					t.Errorf("socket 1 = %+v, want node 0", s)
				}
			},
		},
		{
			name: "memory-only node and a short distance row",
			build: func(tr *tree) {
				tr.twoSockets().file("sys/devices/system/node/node2/cpulist", "").
					file("sys/devices/system/node/node2/meminfo", "Node 2 MemTotal:       1048576 kB").
					file("sys/devices/system/node/node2/distance", "21 21")
			},
			warnings: []string{"node0/distance", "node1/distance", "node2/distance"},
			check: func(t *testing.T, topo *Topology) {
				if n := topo.Node(2); n == nil || !n.CPUs.IsEmpty() || n.MemoryBytes != 1<<30 || n.Distances != nil {
					t.Errorf("node 2 = %+v, want no CPUs, 1 GiB, distances unknown", n)
				}
				if !strings.Contains(render(t, topo), "NUMA nodes without CPUs:\n  NUMA node 2: no CPUs, memory 1.0 GiB") {
					t.Error("the diagram does not show the memory-only node")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			tc.build(tr)
			done := make(chan struct{})
			var topo *Topology
			go func() {
				defer close(done)
				topo = tr.discover()
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Discover blocked")
			}
			if topo == nil {
				return // tr.discover has failed the test
			}
			wantWarnings(t, topo, tc.warnings...)
			checkConsistent(t, topo)
			if tc.check != nil {
				tc.check(t, topo)
			}
			// A second discovery of the same tree is identical.
			if again := tr.discover(); !reflect.DeepEqual(again, topo) {
				t.Error("two discoveries of the same tree differ")
			}
		})
	}
}

func TestDiscoverErrors(t *testing.T) {
	file := newTree(t).file("not-a-dir", "x")
	tests := []struct {
		name, root, want string
	}{
		{"missing root", "/nonexistent/root", "no such file"},
		{"root is a file", file.path("not-a-dir"), "not a directory"},
		{"no CPU", newTree(t).dir("sys/devices/system/cpu").root, "no online CPU"},
		{"nothing at all", t.TempDir(), "sys/devices/system/cpu: missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo, err := Discover(tc.root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Discover = %v, %v; want an error containing %q", topo, err, tc.want)
			}
		})
	}
}

// TestDiscoverHost discovers the machine the test runs on: whatever it
// is, discovery must find its CPUs and agree with itself, and a capture
// of it must hold the same machine.
func TestDiscoverHost(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/cpu"); err != nil {
		t.Skip("no sysfs on this machine")
	}
	var topo *Topology
	for _, root := range []string{"", "/"} {
		var err error
		if topo, err = Discover(root); err != nil {
			t.Fatal(err)
		}
		if topo.Root != "/" || len(topo.CPUs) == 0 || len(topo.Nodes) == 0 {
			t.Errorf("Discover(%q): root %q, %d CPUs, %d nodes", root, topo.Root, len(topo.CPUs), len(topo.Nodes))
		}
		checkConsistent(t, topo)
		checkPCIeRoots(t, topo)
	}
	t.Logf("this host:\n%s", render(t, topo))
	archive := filepath.Join(t.TempDir(), "host.tar.gz")
	if err := Capture("/", archive); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := snapshot.UnpackInto(archive, dir); err != nil {
		t.Fatal(err)
	}
	captured, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutCaptureChanges(captured), withoutCaptureChanges(topo); !reflect.DeepEqual(a, b) {
		t.Errorf("discovered from the capture:\n%s\nfrom the host:\n%s", render(t, a), render(t, b))
	}
}

func render(t *testing.T, topo *Topology) string {
	t.Helper()
	var b strings.Builder
	if err := Render(&b, topo); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// FuzzDiscover writes arbitrary content into the attributes discovery
// parses, one tree per fuzzing process, and checks that discovery goes
// on: no panic, no error, and a topology that agrees with itself.
func FuzzDiscover(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "0-7", "garbage\x00", "1\n2\n", "400 Gb/sec", "Node 0 MemTotal: 1 kB", "0x030200"} {
		f.Add(s, uint8(0))
	}
	tr := newTree(f)
	tr.twoSockets().nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "400 Gb/sec (4X NDR)", "uverbs0")
	f.Fuzz(func(t *testing.T, content string, which uint8) {
		tr.t = t
		files := []string{
			"sys/devices/system/cpu/online",
			cpu0Top + "physical_package_id", cpu0Top + "core_id", cpu0Top + "thread_siblings_list",
			"sys/devices/system/cpu/cpu0/cache/index3/level", "sys/devices/system/cpu/cpu0/cache/index3/id",
			"sys/devices/system/cpu/cpu0/cache/index3/shared_cpu_list",
			"sys/devices/system/node/node0/cpulist", "sys/devices/system/node/node0/meminfo",
			"sys/devices/system/node/node1/distance",
			ibDir + "/class", ibDir + "/vendor", ibDir + "/numa_node", ibDir + "/net/ibp24s0/speed",
			ibDir + "/infiniband/mlx5_0/ports/1/rate", ibDir + "/infiniband/mlx5_0/ports/1/link_layer",
			"proc/cpuinfo",
		}
		rel := files[int(which)%len(files)]
		old, err := os.ReadFile(tr.path(rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tr.path(rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.WriteFile(tr.path(rel), old, 0o644); err != nil {
				t.Fatal(err)
			}
		}()
		topo, err := Discover(tr.root)
		if err != nil {
			// Only the online list may leave no CPU at all.
			if rel != "sys/devices/system/cpu/online" {
				t.Fatalf("%s = %q: %v", rel, content, err)
			}
			return
		}
		checkConsistent(t, topo)
		if err := Render(io.Discard, topo); err != nil {
			t.Fatal(err)
		}
	})
}
