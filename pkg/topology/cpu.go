package topology

import (
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/jaypipes/ghw"
	"k8s.io/utils/cpuset"
)

const cpuDir = "sys/devices/system/cpu"

// onlineCPUs returns the online logical CPUs: cpu/online, or, when that
// file cannot be used (older snapshots lack it), every cpuN directory
// whose own online file does not say 0. The boot CPU has no online file,
// since it cannot be taken offline.
func (d *discovery) onlineCPUs() cpuset.CPUSet {
	if set, ok := d.r.cpuListAttr(cpuDir+"/online", false, "looking at the cpuN directories instead"); ok {
		if !set.IsEmpty() {
			return set
		}
		d.r.warn(cpuDir+"/online", "lists no CPU; looking at the cpuN directories instead")
	}
	entries, err := d.r.readDir(cpuDir)
	if err != nil {
		d.r.warn(cpuDir, "%s; no CPU found", why(err))
		return cpuset.New()
	}
	var ids []int
	for _, id := range numbered(entries, "cpu") {
		rel := fmt.Sprintf("%s/cpu%d/online", cpuDir, id)
		if s, ok := d.r.optAttr(rel, "taking the CPU as online"); ok {
			switch s {
			case "0":
				continue
			case "1":
			default:
				d.r.warn(rel, "neither 0 nor 1: %s; taking the CPU as online", quote(s))
			}
		}
		ids = append(ids, id)
	}
	return cpuset.New(ids...)
}

// readCPUs fills t.CPUs with the online CPUs' package, core and sibling
// threads. NUMA nodes and L3 groups come later.
func (d *discovery) readCPUs() {
	ids := d.online.List()
	d.t.CPUs = make([]CPU, len(ids))
	var unknownSiblings []int
	for i, id := range ids {
		c := CPU{ID: id, Socket: Unknown, Core: Unknown, Node: Unknown, L3: Unknown}
		base := fmt.Sprintf("%s/cpu%d/topology/", cpuDir, id)
		c.Socket = d.topologyID(base+"physical_package_id", "package unknown")
		c.Core = d.topologyID(base+"core_id", "core unknown")
		if sib, ok := d.siblings(base, id); ok {
			c.Siblings = sib
		} else {
			unknownSiblings = append(unknownSiblings, i)
		}
		d.t.CPUs[i] = c
	}
	// Where the kernel's sibling list is unusable, the threads of a core
	// are the CPUs with the same package and core id; with those unknown
	// too, a CPU is taken as a core of its own.
	byCore := map[CoreKey][]int{}
	for _, c := range d.t.CPUs {
		if c.Socket != Unknown && c.Core != Unknown {
			byCore[c.CoreKey()] = append(byCore[c.CoreKey()], c.ID)
		}
	}
	for _, i := range unknownSiblings {
		c := &d.t.CPUs[i]
		if c.Socket != Unknown && c.Core != Unknown {
			c.Siblings = cpuset.New(byCore[c.CoreKey()]...)
		} else {
			c.Siblings = cpuset.New(c.ID)
		}
	}
	d.joinSiblings()
}

// joinSiblings makes the sibling sets a partition of the CPUs, as drivers
// handing out whole cores need: CPUs that list each other, directly or
// through others, are one core. The kernel's lists already are a
// partition; where they disagree (one CPU lists another that does not
// list it back), the lists are merged and the disagreement is a warning.
func (d *discovery) joinSiblings() {
	cpus := d.t.CPUs
	parent := make([]int, len(cpus))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, c := range cpus {
		for _, s := range c.Siblings.List() {
			if j := d.t.cpuIndex(s); j >= 0 {
				parent[find(j)] = find(i)
			}
		}
	}
	members := map[int][]int{}
	for i, c := range cpus {
		members[find(i)] = append(members[find(i)], c.ID)
	}
	for i := range cpus {
		c := &cpus[i]
		joined := members[find(i)]
		if c.Siblings.Size() == len(joined) {
			continue // the list has all the component's members, so it is the component
		}
		set := cpuset.New(joined...)
		d.r.warn(fmt.Sprintf("%s/cpu%d/topology/thread_siblings_list", cpuDir, c.ID),
			"lists %s, but its siblings make the core %s; taking %s", c.Siblings.String(), set.String(), set.String())
		c.Siblings = set
	}
}

// topologyID reads a package or core id. The kernel writes -1 where the
// platform does not say; that is Unknown without a warning.
func (d *discovery) topologyID(rel, orElse string) int {
	v, ok := d.r.intAttr(rel, orElse)
	switch {
	case !ok || v == -1:
		return Unknown
	case v < 0:
		d.r.warn(rel, "negative id %d; %s", v, orElse)
		return Unknown
	}
	return v
}

// siblings reads the hardware threads of CPU id's core: thread_siblings_list,
// or core_cpus_list, its name since Linux 5.7, should the old name be gone.
// Offline threads are left out.
func (d *discovery) siblings(base string, id int) (cpuset.CPUSet, bool) {
	const orElse = "grouping threads by core id"
	rel := base + "thread_siblings_list"
	set, ok := d.r.cpuListAttr(rel, true, orElse)
	if !ok && d.r.missing(rel) {
		rel = base + "core_cpus_list"
		if set, ok = d.r.cpuListAttr(rel, true, orElse); !ok && d.r.missing(rel) {
			d.r.warn(base+"thread_siblings_list", "missing, and core_cpus_list too; %s", orElse)
		}
	}
	if !ok {
		return cpuset.CPUSet{}, false
	}
	if !set.Contains(id) {
		d.r.warn(rel, "does not list CPU %d itself: %s; %s", id, set.String(), orElse)
		return cpuset.CPUSet{}, false
	}
	return d.onlineOnly(set), true
}

// onlineOnly returns the online CPUs of set, without allocating in the
// usual case of a set that is all online.
func (d *discovery) onlineOnly(set cpuset.CPUSet) cpuset.CPUSet {
	if set.IsSubsetOf(d.online) {
		return set
	}
	return set.Intersection(d.online)
}

// buildSockets groups the CPUs by physical package. CPUs whose package is
// unknown form a socket with id Unknown, listed first.
func (d *discovery) buildSockets() {
	cpus := map[int][]int{}
	nodes := map[int]map[int]bool{}
	for _, c := range d.t.CPUs {
		cpus[c.Socket] = append(cpus[c.Socket], c.ID)
		if nodes[c.Socket] == nil {
			nodes[c.Socket] = map[int]bool{}
		}
		if c.Node != Unknown {
			nodes[c.Socket][c.Node] = true
		}
	}
	ids := make([]int, 0, len(cpus))
	for id := range cpus {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	d.t.Sockets = make([]Socket, len(ids))
	for i, id := range ids {
		s := Socket{ID: id, CPUs: cpuset.New(cpus[id]...)}
		for n := range nodes[id] {
			s.Nodes = append(s.Nodes, n)
		}
		sort.Ints(s.Nodes)
		d.t.Sockets[i] = s
	}
}

// cpuModel returns the processor model from /proc/cpuinfo: its "model
// name" field where there is one (x86), else what ghw finds, which knows
// the fields of other architectures (Arm "Processor" or the device tree,
// s390x "machine", ...). ghw is not the first choice because it also
// rereads every CPU's topology files, which doubles discovery time.
func (d *discovery) cpuModel() string {
	const cpuinfo = "proc/cpuinfo"
	f, err := d.r.open(cpuinfo)
	if err != nil {
		d.r.warn(cpuinfo, "%s; processor model unknown", why(err))
		return ""
	}
	model, err := parseModelName(io.LimitReader(f, maxCPUInfoBytes))
	_ = f.Close()
	if err != nil {
		d.r.warn(cpuinfo, "%s; processor model unknown", why(err))
		return ""
	}
	if model != "" {
		return model
	}
	return d.ghwModel()
}

// ghwModel asks ghw for the processor model. ghw reports problems through
// a logger only; they are discarded, since discovery reads the same files
// itself and warns about them with their paths.
func (d *discovery) ghwModel() (model string) {
	// ghw is third-party code reading arbitrary files; a bug there must
	// cost the model name, not the node plugin.
	defer func() {
		if p := recover(); p != nil {
			d.r.warn("proc/cpuinfo", "reading the processor model failed: %v", p)
			model = ""
		}
	}()
	info, err := ghw.CPU(ghw.WithChroot(d.r.root), ghw.WithDisableTools(), ghw.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		d.r.warn("proc/cpuinfo", "reading the processor model: %v", err)
		return ""
	}
	for _, p := range info.Processors {
		if p.Model != "" {
			return p.Model
		}
	}
	return ""
}
