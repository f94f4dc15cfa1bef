package topology

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jaypipes/ghw/pkg/snapshot"

	"github.com/hadron-sched/hadron/pkg/simhw"
)

// tree writes a small sysfs tree below a temporary root.
type tree struct {
	t    testing.TB
	root string
}

func newTree(t testing.TB) *tree {
	t.Helper()
	return &tree{t: t, root: t.TempDir()}
}

func (tr *tree) path(rel string) string { return filepath.Join(tr.root, filepath.FromSlash(rel)) }

// file writes rel with content plus the newline sysfs attributes end in.
func (tr *tree) file(rel, content string) *tree {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content+"\n"), 0o644); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr *tree) dir(rel string) *tree {
	tr.t.Helper()
	if err := os.MkdirAll(tr.path(rel), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

// link makes rel a relative symlink to target (relative to the root), as
// sysfs links are; the target need not exist.
func (tr *tree) link(rel, target string) *tree {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	to, err := filepath.Rel(filepath.Dir(p), tr.path(target))
	if err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Symlink(to, p); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

func (tr *tree) remove(rel string) *tree {
	tr.t.Helper()
	if err := os.RemoveAll(tr.path(rel)); err != nil {
		tr.t.Fatal(err)
	}
	return tr
}

// cpu describes one CPU of a synthetic machine.
type cpuSpec struct {
	id, pkg, core, node int
	siblings, l3Shared  string
	l3ID                int // -1: no id file
}

// machine writes CPUs with topology, L3 caches and NUMA nodes, plus
// cpu/online listing them all.
func (tr *tree) machine(cpus []cpuSpec, nodes map[int]string, distances map[int]string) *tree {
	tr.t.Helper()
	var ids []string
	for _, c := range cpus {
		base := fmt.Sprintf("sys/devices/system/cpu/cpu%d", c.id)
		tr.file(base+"/topology/physical_package_id", fmt.Sprint(c.pkg)).
			file(base+"/topology/core_id", fmt.Sprint(c.core)).
			file(base+"/topology/thread_siblings_list", c.siblings).
			file(base+"/cache/index0/level", "1").
			file(base+"/cache/index3/level", "3").
			file(base+"/cache/index3/shared_cpu_list", c.l3Shared)
		if c.l3ID >= 0 {
			tr.file(base+"/cache/index3/id", fmt.Sprint(c.l3ID))
		}
		tr.link(fmt.Sprintf("%s/node%d", base, c.node), fmt.Sprintf("sys/devices/system/node/node%d", c.node))
		ids = append(ids, fmt.Sprint(c.id))
	}
	tr.file("sys/devices/system/cpu/online", strings.Join(ids, ","))
	var info strings.Builder
	for _, c := range cpus {
		fmt.Fprintf(&info, "processor\t: %d\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\n\n", c.id)
	}
	tr.file("proc/cpuinfo", info.String())
	for n, list := range nodes {
		base := fmt.Sprintf("sys/devices/system/node/node%d", n)
		tr.file(base+"/cpulist", list).
			file(base+"/meminfo", fmt.Sprintf("Node %d MemTotal:       %d kB\nNode %d MemFree:        1 kB", n, (n+1)<<20, n)).
			file(base+"/distance", distances[n])
	}
	return tr
}

// twoSockets writes a machine of 2 sockets x 2 cores x 2 threads, one
// NUMA node and one L3 per socket: node 0 is CPUs 0,1,4,5.
func (tr *tree) twoSockets() *tree {
	var cpus []cpuSpec
	for id := range 8 {
		pkg, core := (id%4)/2, id%2
		first := pkg*2 + core
		l3 := []string{"0-1,4-5", "2-3,6-7"}[pkg]
		cpus = append(cpus, cpuSpec{id: id, pkg: pkg, core: core, node: pkg,
			siblings: fmt.Sprintf("%d,%d", first, first+4), l3Shared: l3, l3ID: pkg})
	}
	return tr.machine(cpus, map[int]string{0: "0-1,4-5", 1: "2-3,6-7"}, map[int]string{0: "10 21", 1: "21 10"})
}

// pciDevice writes a PCI function below host bridge root
// ("pci0000:15"), behind a root port, with its bus link.
func (tr *tree) pciDevice(root, addr string, class uint32, vendor, device uint16, numaNode int, driver string) string {
	tr.t.Helper()
	domain, bus, _ := strings.Cut(strings.TrimPrefix(root, "pci"), ":")
	port := fmt.Sprintf("%s:%s:01.0", domain, bus)
	dir := fmt.Sprintf("sys/devices/%s/%s/%s", root, port, addr)
	tr.file(dir+"/class", fmt.Sprintf("0x%06x", class)).
		file(dir+"/vendor", fmt.Sprintf("0x%04x", vendor)).
		file(dir+"/device", fmt.Sprintf("0x%04x", device)).
		file(dir+"/numa_node", fmt.Sprint(numaNode)).
		link("sys/bus/pci/devices/"+addr, dir)
	if driver != "" {
		tr.dir("sys/bus/pci/drivers/"+driver).link(dir+"/driver", "sys/bus/pci/drivers/"+driver)
	}
	return dir
}

// nic writes a ConnectX function with netdev ifname and, unless
// linkLayer is empty, an RDMA device ibdev with user verbs device uverbs.
func (tr *tree) nic(root, addr string, node int, ifname, ibdev, linkLayer, rate, uverbs string) string {
	dir := tr.pciDevice(root, addr, 0x020000, 0x15b3, 0x1021, node, "mlx5_core")
	tr.file(dir+"/net/"+ifname+"/address", "b8:3f:d2:aa:bb:cc").
		file(dir+"/net/"+ifname+"/speed", "400000").
		link("sys/class/net/"+ifname, dir+"/net/"+ifname)
	if linkLayer != "" {
		tr.file(dir+"/infiniband/"+ibdev+"/ports/1/link_layer", linkLayer).
			file(dir+"/infiniband/"+ibdev+"/ports/1/rate", rate).
			file(dir+"/infiniband_verbs/"+uverbs+"/ibdev", ibdev).
			file(dir+"/infiniband_verbs/"+uverbs+"/dev", "231:192")
	}
	return dir
}

func (tr *tree) discover() *Topology {
	tr.t.Helper()
	topo, err := Discover(tr.root)
	if err != nil {
		tr.t.Fatalf("Discover: %v", err)
	}
	return topo
}

// fixtures holds the trees unpacked or written once per test binary: the
// tests and benchmarks only read them. Each is built once, and different
// ones concurrently, since writing thousands of files is by far the
// slowest thing these tests do.
var fixtures = struct {
	sync.Mutex
	dir   string
	trees map[string]func() (string, error)
}{trees: map[string]func() (string, error){}}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" {
		if err := os.RemoveAll(fixtures.dir); err != nil {
			fmt.Fprintln(os.Stderr, "removing fixtures:", err)
		}
	}
	os.Exit(code)
}

// fixtureRoot returns the root of a shared fixture, creating it with
// build on first use.
func fixtureRoot(t testing.TB, key string, build func(dir string) error) string {
	t.Helper()
	fixtures.Lock()
	if fixtures.dir == "" {
		dir, err := os.MkdirTemp("", "topology-fixtures-*")
		if err != nil {
			fixtures.Unlock()
			t.Fatal(err)
		}
		fixtures.dir = dir
	}
	get, ok := fixtures.trees[key]
	if !ok {
		root := filepath.Join(fixtures.dir, key)
		get = sync.OnceValues(func() (string, error) {
			if err := os.MkdirAll(root, 0o755); err != nil {
				return "", err
			}
			return root, build(root)
		})
		fixtures.trees[key] = get
	}
	fixtures.Unlock()
	root, err := get()
	if err != nil {
		t.Fatalf("fixture %s: %v", key, err)
	}
	return root
}

// ghwDir is the directory of the ghw module, whose testdata holds
// snapshots of real machines.
var ghwDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/jaypipes/ghw").Output()
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list printed no directory")
	}
	return dir, nil
})

// snapshotRoot unpacks the snapshot name (without .tar.gz) and returns its
// root: one of this package's testdata ("testdata/...", made by Capture)
// or one that ghw ships. It skips the test when ghw's module cannot be
// found.
func snapshotRoot(t testing.TB, name string) string {
	t.Helper()
	if strings.HasPrefix(name, "testdata/") {
		return fixtureRoot(t, "snapshot-"+filepath.Base(name), func(root string) error {
			return snapshot.UnpackInto(name+".tar.gz", root)
		})
	}
	dir, err := ghwDir()
	if err != nil {
		t.Skipf("ghw module not found: %v", err)
	}
	return fixtureRoot(t, "snapshot-"+name, func(root string) error {
		return snapshot.UnpackInto(filepath.Join(dir, "testdata", "snapshots", name+".tar.gz"), root)
	})
}

// machineRoot writes the simulated machine's sysfs tree and returns it.
func machineRoot(t testing.TB, name string) (*simhw.Machine, string) {
	t.Helper()
	m, err := simhw.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return m, fixtureRoot(t, "machine-"+name, func(root string) error {
		return m.WriteSysfs(root)
	})
}
