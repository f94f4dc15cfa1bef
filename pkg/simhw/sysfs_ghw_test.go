package simhw

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/pcidb"
)

// ghwOpts points ghw at a tree: sysfs only (no ethtool, no host PCI
// database, which a test machine may lack) and no log output (ghw's own
// warning switch is a global that its nested readers reset).
func ghwOpts(root string) []any {
	return []any{
		ghw.WithChroot(root),
		ghw.WithDisableTools(),
		ghw.WithLogger(slog.New(slog.DiscardHandler)),
		ghw.WithPCIDB(&pcidb.PCIDB{Classes: map[string]*pcidb.Class{}, Vendors: map[string]*pcidb.Vendor{}, Products: map[string]*pcidb.Product{}}),
	}
}

// TestGHWSeesNICs reads the trees with ghw's network and PCI readers, as
// topology discovery does.
func TestGHWSeesNICs(t *testing.T) {
	for _, name := range []string{"dgxh100", "dgxa100", "workstation"} {
		t.Run(name, func(t *testing.T) {
			m, root := sharedTree(t, name)
			netInfo, err := ghw.Network(ghwOpts(root)...)
			if err != nil {
				t.Fatalf("ghw.Network = %v", err)
			}
			byName := map[string]*ghw.NIC{}
			for _, n := range netInfo.NICs {
				byName[n.Name] = n
			}
			if len(byName) != len(m.NICs) {
				t.Errorf("ghw sees %d NICs, want %d", len(byName), len(m.NICs))
			}
			pci, err := ghw.PCI(ghwOpts(root)...)
			if err != nil {
				t.Fatalf("ghw.PCI = %v", err)
			}
			for i, n := range m.NICs {
				g := byName[n.Interface]
				if g == nil {
					t.Errorf("nic %d: ghw lacks %s", i, n.Interface)
					continue
				}
				if g.PCIAddress == nil || *g.PCIAddress != n.PCIBusID {
					t.Errorf("nic %d: ghw PCI address %v, want %s", i, g.PCIAddress, n.PCIBusID)
				}
				if g.MACAddress != m.netdevAddress(i) || g.IsVirtual {
					t.Errorf("nic %d: ghw MAC %q virtual %v, want %q", i, g.MACAddress, g.IsVirtual, m.netdevAddress(i))
				}
				if want := strconv.FormatInt(n.speedMbps(), 10); g.Speed != want || g.Duplex != "full" {
					t.Errorf("nic %d: ghw speed %q duplex %q, want %s full", i, g.Speed, g.Duplex, want)
				}

				d := pci.GetDevice(n.PCIBusID)
				if d == nil {
					t.Errorf("nic %d: ghw.PCI lacks %s", i, n.PCIBusID)
					continue
				}
				model := nicModels[n.Model]
				subclass := "00"
				if n.LinkLayer == "InfiniBand" {
					subclass = "07"
				}
				if d.Vendor.ID != fmt.Sprintf("%04x", model.vendor) || d.Product.ID != fmt.Sprintf("%04x", model.device) ||
					d.Class.ID != "02" || d.Subclass.ID != subclass || d.Driver != model.driver {
					t.Errorf("nic %d: ghw device %s:%s class %s:%s driver %s", i, d.Vendor.ID, d.Product.ID, d.Class.ID, d.Subclass.ID, d.Driver)
				}
				if m.NUMANodes() > 1 && (d.Node == nil || d.Node.ID != n.NUMANode) {
					t.Errorf("nic %d: ghw NUMA node %+v, want %d", i, d.Node, n.NUMANode)
				}
				if n.PairedGPU == nil {
					continue
				}
				// The NIC's and its GPU's downstream ports hang off one
				// upstream switch port.
				gpu := pci.GetDevice(m.GPUs[*n.PairedGPU].PCIBusID)
				up := func(d *ghw.PCIDevice) string {
					if d == nil || d.Parent == nil {
						return ""
					}
					return d.Parent.ParentAddress
				}
				if gpu == nil || up(d) == "" || up(d) != up(gpu) || d.ParentAddress == gpu.ParentAddress {
					t.Errorf("nic %d: ghw parents %q/%q, gpu %v", i, d.ParentAddress, up(d), gpu)
				}
			}
		})
	}
}

// TestGHWSeesCaches reads the caches with ghw's topology reader: per NUMA
// node, one L2 per core and one L3 per CPU.CoresPerL3 cores, of the
// model's sizes.
func TestGHWSeesCaches(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m, root := sharedTree(t, name)
			topo, err := ghw.Topology(ghwOpts(root)...)
			if err != nil {
				t.Fatalf("ghw.Topology = %v", err)
			}
			c := m.CPU
			if len(topo.Nodes) != m.NUMANodes() {
				t.Fatalf("ghw sees %d nodes, want %d", len(topo.Nodes), m.NUMANodes())
			}
			spec := c.cacheSpec()
			perL3 := c.l3Cores()
			for _, node := range topo.Nodes {
				count := map[uint8]int{}
				for _, cache := range node.Caches {
					count[cache.Level]++
					switch cache.Level {
					case 2:
						if cache.SizeBytes != uint64(spec.l2)*1024 || len(cache.LogicalProcessors) != c.ThreadsPerCore {
							t.Errorf("node %d: L2 of %d bytes on %v", node.ID, cache.SizeBytes, cache.LogicalProcessors)
						}
					case 3:
						want := uint64(spec.l3PerSocket*perL3/c.CoresPerSocket) * 1024
						if cache.SizeBytes != want || len(cache.LogicalProcessors) != perL3*c.ThreadsPerCore {
							t.Errorf("node %d: L3 of %d bytes on %d CPUs, want %d bytes on %d", node.ID,
								cache.SizeBytes, len(cache.LogicalProcessors), want, perL3*c.ThreadsPerCore)
						}
					}
				}
				cores := c.coresPerNode()
				if count[1] != 0 || count[2] != cores || count[3] != cores/perL3 {
					t.Errorf("node %d: ghw caches per level %v, want no L1, L2 %d, L3 %d", node.ID, count, cores, cores/perL3)
				}
			}
		})
	}
}

// TestCacheTopology checks the cache files directly: sharing sets match the
// topology, and L3 ids name the groups uniquely across the machine.
func TestCacheTopology(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m, root := sharedTree(t, name)
			c := m.CPU
			cpuBase := filepath.Join(root, "sys/devices/system/cpu")
			nodeOf := map[int]int{}
			for node := 0; node < m.NUMANodes(); node++ {
				for _, id := range c.nodeCPUs(node) {
					nodeOf[id] = node
				}
			}
			l3 := map[string][]int{} // L3 id -> CPUs
			l3List := map[string]string{}
			for cpu := 0; cpu < c.cpus(); cpu++ {
				dir := filepath.Join(cpuBase, fmt.Sprintf("cpu%d", cpu), "cache")
				siblings := readTrim(t, filepath.Join(cpuBase, fmt.Sprintf("cpu%d", cpu), "topology/thread_siblings_list"))
				for i, want := range map[int]string{2: "2", 3: "3"} {
					idx := filepath.Join(dir, fmt.Sprintf("index%d", i))
					if readTrim(t, filepath.Join(idx, "level")) != want || readTrim(t, filepath.Join(idx, "type")) != "Unified" {
						t.Fatalf("cpu%d index%d is not a unified L%s cache", cpu, i, want)
					}
					list := readTrim(t, filepath.Join(idx, "shared_cpu_list"))
					if i < 3 && list != siblings {
						t.Errorf("cpu%d index%d shared by %s, want the core's threads %s", cpu, i, list, siblings)
					}
				}
				idx3 := filepath.Join(dir, "index3")
				id := readTrim(t, filepath.Join(idx3, "id"))
				l3[id] = append(l3[id], cpu)
				list := readTrim(t, filepath.Join(idx3, "shared_cpu_list"))
				if prev, ok := l3List[id]; ok && prev != list {
					t.Errorf("L3 %s shared by %s and by %s", id, prev, list)
				}
				l3List[id] = list
			}
			perL3 := c.l3Cores()
			if want := c.cores() / perL3; len(l3) != want {
				t.Errorf("%d L3 ids, want %d", len(l3), want)
			}
			for id, cpus := range l3 {
				if got := cpuList(cpus); got != l3List[id] {
					t.Errorf("L3 %s holds CPUs %s but lists %s", id, got, l3List[id])
				}
				if len(cpus) != perL3*c.ThreadsPerCore {
					t.Errorf("L3 %s holds %d CPUs, want %d", id, len(cpus), perL3*c.ThreadsPerCore)
				}
				for _, cpu := range cpus {
					if nodeOf[cpu] != nodeOf[cpus[0]] {
						t.Errorf("L3 %s spans NUMA nodes %d and %d", id, nodeOf[cpus[0]], nodeOf[cpu])
					}
				}
			}
		})
	}
}

// TestCacheFiles pins a few values against the vendors' figures.
func TestCacheFiles(t *testing.T) {
	tests := []struct {
		machine, cpu, index, file, want string
	}{
		{"dgxh100", "cpu0", "index3", "size", "107520K"}, // 105 MB per socket
		{"dgxh100", "cpu56", "index3", "id", "1"},
		{"dgxh100", "cpu0", "index2", "size", "2048K"},
		{"dgxa100", "cpu0", "index3", "shared_cpu_list", "0-3,128-131"}, // one CCX
		{"dgxa100", "cpu0", "index3", "size", "16384K"},
		{"dgxa100", "cpu255", "index3", "id", "31"},
		{"dgxb200", "cpu0", "index3", "size", "307200K"},                   // 300 MB per socket
		{"workstation", "cpu8", "index3", "shared_cpu_list", "8-15,24-31"}, // second CCD
		{"workstation", "cpu8", "index3", "size", "32768K"},
	}
	for _, tt := range tests {
		_, root := sharedTree(t, tt.machine)
		p := filepath.Join(root, "sys/devices/system/cpu", tt.cpu, "cache", tt.index, tt.file)
		if got := readTrim(t, p); got != tt.want {
			t.Errorf("%s %s/%s/%s = %q, want %q", tt.machine, tt.cpu, tt.index, tt.file, got, tt.want)
		}
	}
}
