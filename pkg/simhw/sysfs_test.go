package simhw

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"k8s.io/dynamic-resource-allocation/deviceattribute"
)

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return strings.TrimSpace(string(b))
}

// parseList is an independent parser for sysfs lists, so the test does not
// just feed cpuList's output back to itself.
func parseList(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			t.Fatalf("bad list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				t.Fatalf("bad list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// shared holds sysfs trees written once per test binary: the tests only
// read them, and creating thousands of files is by far the slowest thing
// these tests do.
var shared = struct {
	sync.Mutex
	dir   string
	trees map[string]string
}{trees: map[string]string{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		if err := os.RemoveAll(shared.dir); err != nil {
			fmt.Fprintln(os.Stderr, "removing shared sysfs trees:", err)
		}
	}
	os.Exit(code)
}

// sharedTree loads the machine nameOrPath and returns it with the root of
// its (shared, read-only) sysfs tree.
func sharedTree(t *testing.T, nameOrPath string) (*Machine, string) {
	t.Helper()
	m := mustLoad(t, nameOrPath)
	shared.Lock()
	defer shared.Unlock()
	if root, ok := shared.trees[nameOrPath]; ok {
		return m, root
	}
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "simhw-test-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
	}
	root := filepath.Join(shared.dir, strconv.Itoa(len(shared.trees)))
	if err := m.WriteSysfs(root); err != nil {
		t.Fatalf("WriteSysfs = %v", err)
	}
	shared.trees[nameOrPath] = root
	return m, root
}

func TestWriteSysfsCPUsAndNodes(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m, root := sharedTree(t, name)
			c := m.CPU
			ncpu := c.Sockets * c.CoresPerSocket * c.ThreadsPerCore
			cores := c.Sockets * c.CoresPerSocket
			coresPerNode := c.CoresPerSocket / c.NUMANodesPerSocket
			cpuBase := filepath.Join(root, "sys/devices/system/cpu")
			nodeBase := filepath.Join(root, "sys/devices/system/node")

			if got, want := readTrim(t, filepath.Join(cpuBase, "online")), fmt.Sprintf("0-%d", ncpu-1); got != want {
				t.Errorf("cpu/online = %q, want %q", got, want)
			}
			if got, want := readTrim(t, filepath.Join(nodeBase, "online")), cpuList(seq(m.NUMANodes())); got != want {
				t.Errorf("node/online = %q, want %q", got, want)
			}

			nodeOf := map[int]int{}
			var totalKiB int64
			for node := 0; node < m.NUMANodes(); node++ {
				dir := filepath.Join(nodeBase, fmt.Sprintf("node%d", node))
				cpus := parseList(t, readTrim(t, filepath.Join(dir, "cpulist")))
				if len(cpus) != coresPerNode*c.ThreadsPerCore {
					t.Errorf("node%d has %d CPUs, want %d", node, len(cpus), coresPerNode*c.ThreadsPerCore)
				}
				for _, cpu := range cpus {
					if prev, dup := nodeOf[cpu]; dup {
						t.Errorf("cpu%d in node%d and node%d", cpu, prev, node)
					}
					nodeOf[cpu] = node
					if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("cpu%d", cpu), "topology", "core_id")); err != nil {
						t.Errorf("node%d/cpu%d link does not reach the CPU: %v", node, cpu, err)
					}
				}
				dist := strings.Fields(readTrim(t, filepath.Join(dir, "distance")))
				if len(dist) != m.NUMANodes() || dist[node] != "10" {
					t.Errorf("node%d distance = %v", node, dist)
				}
				meminfo := readTrim(t, filepath.Join(dir, "meminfo"))
				var kib int64
				if _, err := fmt.Sscanf(meminfo, fmt.Sprintf("Node %d MemTotal: %%d kB", node), &kib); err != nil {
					t.Fatalf("node%d meminfo %q: %v", node, meminfo, err)
				}
				totalKiB += kib
			}
			if want := int64(c.MemoryGiB) << 20; totalKiB != want {
				t.Errorf("nodes hold %d KiB, want %d", totalKiB, want)
			}
			if len(nodeOf) != ncpu {
				t.Errorf("nodes hold %d CPUs, want %d", len(nodeOf), ncpu)
			}

			for cpu := 0; cpu < ncpu; cpu++ {
				dir := filepath.Join(cpuBase, fmt.Sprintf("cpu%d", cpu), "topology")
				seq := cpu % cores // Linux x86 order: threads of one core are cores apart
				wantSocket := seq / c.CoresPerSocket
				wantCore := seq % c.CoresPerSocket
				wantNode := wantSocket*c.NUMANodesPerSocket + wantCore/coresPerNode
				if got := readTrim(t, filepath.Join(dir, "physical_package_id")); got != strconv.Itoa(wantSocket) {
					t.Errorf("cpu%d physical_package_id = %s, want %d", cpu, got, wantSocket)
				}
				if got := readTrim(t, filepath.Join(dir, "core_id")); got != strconv.Itoa(wantCore) {
					t.Errorf("cpu%d core_id = %s, want %d", cpu, got, wantCore)
				}
				if nodeOf[cpu] != wantNode {
					t.Errorf("cpu%d is in node%d, want node%d", cpu, nodeOf[cpu], wantNode)
				}
				var wantSiblings []int
				for th := 0; th < c.ThreadsPerCore; th++ {
					wantSiblings = append(wantSiblings, seq+th*cores)
				}
				for _, f := range []string{"thread_siblings_list", "core_cpus_list"} {
					if got := parseList(t, readTrim(t, filepath.Join(dir, f))); !reflect.DeepEqual(got, wantSiblings) {
						t.Errorf("cpu%d %s = %v, want %v", cpu, f, got, wantSiblings)
					}
				}
				if _, err := os.Stat(filepath.Join(cpuBase, fmt.Sprintf("cpu%d", cpu), fmt.Sprintf("node%d", wantNode))); err != nil {
					t.Errorf("cpu%d lacks its node%d link: %v", cpu, wantNode, err)
				}
				// deviceattribute finds a CPU's node through that link.
				got, err := deviceattribute.GetNUMANodeForCPU(cpu, deviceattribute.WithFSFromRoot(filepath.Join(root, "sys")))
				if err != nil || got != wantNode {
					t.Errorf("deviceattribute.GetNUMANodeForCPU(%d) = %d, %v; want %d", cpu, got, err, wantNode)
				}
			}

			cpuinfo := readTrim(t, filepath.Join(root, "proc/cpuinfo"))
			if n := strings.Count(cpuinfo, "processor\t:"); n != ncpu {
				t.Errorf("/proc/cpuinfo lists %d processors, want %d", n, ncpu)
			}
		})
	}
}

func TestWriteSysfsDGXH100Node0(t *testing.T) {
	_, root := sharedTree(t, "dgxh100")
	if got := readTrim(t, filepath.Join(root, "sys/devices/system/node/node0/cpulist")); got != "0-55,112-167" {
		t.Errorf("node0 cpulist = %q, want 0-55,112-167", got)
	}
	if got := readTrim(t, filepath.Join(root, "sys/devices/system/node/node1/distance")); got != "21 10" {
		t.Errorf("node1 distance = %q", got)
	}
	if got := readTrim(t, filepath.Join(root, "sys/devices/system/cpu/cpu1/topology/thread_siblings")); got != "00000000,00000000,00000000,00020000,00000000,00000000,00000002" {
		t.Errorf("cpu1 thread_siblings = %q", got)
	}
}

func TestWriteSysfsPCI(t *testing.T) {
	for _, name := range append(Builtin(), "example") {
		t.Run(name, func(t *testing.T) {
			if name == "example" {
				name = filepath.Join("machines", "example", "custom.yaml")
			}
			m, root := sharedTree(t, name)
			sys := filepath.Join(root, "sys")
			for i, g := range m.GPUs {
				attr, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(g.PCIBusID, deviceattribute.WithFSFromRoot(sys))
				if err != nil {
					t.Fatalf("gpu %d: GetPCIeRootAttributeByPCIBusID(%s) = %v", i, g.PCIBusID, err)
				}
				if attr.Value.StringValue == nil || *attr.Value.StringValue != g.PCIeRoot {
					t.Errorf("gpu %d: pcieRoot attribute = %v, want %s", i, attr.Value.StringValue, g.PCIeRoot)
				}
				numa, err := deviceattribute.GetNUMANodeAttributeByPCIBusID(g.PCIBusID, deviceattribute.ScalarAttribute, deviceattribute.WithFSFromRoot(sys))
				if err != nil || numa.Value.IntValue == nil || *numa.Value.IntValue != int64(g.NUMANode) {
					t.Errorf("gpu %d: numaNode attribute = %+v, %v; want %d", i, numa.Value, err, g.NUMANode)
				}

				dev := filepath.Join(sys, "bus/pci/devices", g.PCIBusID)
				target, err := os.Readlink(dev)
				if err != nil {
					t.Fatalf("gpu %d: %v", i, err)
				}
				if !strings.HasPrefix(target, "../../../devices/"+g.PCIeRoot+"/") || filepath.Base(target) != g.PCIBusID {
					t.Errorf("gpu %d: bus/pci/devices link = %q, want ../../../devices/%s/.../%s", i, target, g.PCIeRoot, g.PCIBusID)
				}
				want := map[string]string{
					"numa_node": strconv.Itoa(g.NUMANode),
					"vendor":    "0x10de",
					"class":     "0x030200",
					"device":    fmt.Sprintf("0x%04x", nvmlConfig(m.modelOf(i)).PciDeviceId>>16),
				}
				for f, w := range want {
					if got := readTrim(t, filepath.Join(dev, f)); got != w {
						t.Errorf("gpu %d: %s = %q, want %q", i, f, got, w)
					}
				}
				if got, want := readTrim(t, filepath.Join(dev, "local_cpulist")), cpuList(m.CPU.nodeCPUs(g.NUMANode)); got != want {
					t.Errorf("gpu %d: local_cpulist = %q, want %q", i, got, want)
				}
				if ma := readTrim(t, filepath.Join(dev, "modalias")); len(ma) != 53 || !strings.HasPrefix(ma, "pci:v000010DE") {
					t.Errorf("gpu %d: modalias = %q", i, ma)
				}
				card := filepath.Join(sys, "class/drm", fmt.Sprintf("card%d", i), "device", "numa_node")
				if got := readTrim(t, card); got != strconv.Itoa(g.NUMANode) {
					t.Errorf("gpu %d: drm card numa_node = %q", i, got)
				}
			}
		})
	}
}

// TestPCITreeShapes pins the bridge layout: a switch when bus numbers leave
// room, shared by a GPU and its paired NIC (one downstream port each, in
// bus order); the GPU straight on the root port otherwise, and NICs of
// their own on a root port of their own.
func TestPCITreeShapes(t *testing.T) {
	check := func(name, busID, want string) {
		t.Helper()
		_, root := sharedTree(t, name)
		target, err := os.Readlink(filepath.Join(root, "sys/bus/pci/devices", busID))
		if err != nil {
			t.Fatal(err)
		}
		if target != want {
			t.Errorf("%s %s link = %q, want %q", name, busID, target, want)
		}
	}
	check("dgxh100", "0000:1b:00.0", // gpu 0, behind the second downstream port
		"../../../devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:01.0/0000:1b:00.0")
	check("dgxh100", "0000:18:00.0", // its NIC, behind the first
		"../../../devices/pci0000:15/0000:15:01.0/0000:16:00.0/0000:17:00.0/0000:18:00.0")
	check("dgxh100", "0000:29:00.1", // storage NIC: a root port of its own
		"../../../devices/pci0000:26/0000:26:01.0/0000:29:00.1")
	check("workstation", "0000:41:00.0",
		"../../../devices/pci0000:40/0000:40:01.0/0000:41:00.0")
	check("workstation", "0000:05:00.0", // second root port of pci0000:00
		"../../../devices/pci0000:00/0000:00:02.0/0000:05:00.0")
	check("dgxa100", "0000:0f:00.0", // second GPU of a pair: its own root port and switch
		"../../../devices/pci0000:00/0000:00:02.0/0000:0d:00.0/0000:0e:00.0/0000:0f:00.0")
	check("dgxa100", "0000:12:00.0",
		"../../../devices/pci0000:00/0000:00:02.0/0000:0d:00.0/0000:0e:01.0/0000:12:00.0")

	// The bridges' bus numbers of the dgxh100's first switch.
	_, root := sharedTree(t, "dgxh100")
	for dev, want := range map[string]string{
		"0000:15:01.0": "22-27", "0000:16:00.0": "23-27", "0000:17:00.0": "24-24", "0000:17:01.0": "27-27",
	} {
		d := filepath.Join(root, "sys/bus/pci/devices", dev)
		got := readTrim(t, filepath.Join(d, "secondary_bus_number")) + "-" + readTrim(t, filepath.Join(d, "subordinate_bus_number"))
		if got != want {
			t.Errorf("dgxh100 %s buses = %s, want %s", dev, got, want)
		}
	}
}

func TestWriteSysfsErrors(t *testing.T) {
	m := mustLoad(t, "workstation")
	root := t.TempDir()
	if err := m.WriteSysfs(root); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteSysfs(root); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second WriteSysfs = %v, want already exists", err)
	}
	if err := m.WriteSysfs(""); err == nil {
		t.Error("WriteSysfs(\"\") = nil, want an error")
	}
	bad := validMachine()
	bad.GPUs[0].NUMANode = 9
	if err := bad.WriteSysfs(t.TempDir()); err == nil || !strings.Contains(err.Error(), "gpus[0].numaNode") {
		t.Errorf("WriteSysfs(invalid) = %v", err)
	}
}

func TestCPUFormatting(t *testing.T) {
	lists := []struct {
		ids  []int
		want string
	}{
		{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"},
	}
	for _, l := range lists {
		if got := cpuList(l.ids); got != l.want {
			t.Errorf("cpuList(%v) = %q, want %q", l.ids, got, l.want)
		}
	}
	masks := []struct {
		ids   []int
		nbits int
		want  string
	}{
		{[]int{0}, 4, "1"},
		{[]int{0, 3}, 8, "09"},
		{[]int{0, 39}, 40, "80,00000001"},
		{[]int{32}, 64, "00000001,00000000"},
	}
	for _, mk := range masks {
		if got := cpuMask(mk.ids, mk.nbits); got != mk.want {
			t.Errorf("cpuMask(%v, %d) = %q, want %q", mk.ids, mk.nbits, got, mk.want)
		}
	}
}
