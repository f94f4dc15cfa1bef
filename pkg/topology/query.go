package topology

import (
	"sort"

	"k8s.io/utils/cpuset"
)

// find returns the first element of s that match accepts, or nil.
func find[T any](s []T, match func(*T) bool) *T {
	for i := range s {
		if match(&s[i]) {
			return &s[i]
		}
	}
	return nil
}

// Node returns the NUMA node id, or nil if there is none.
func (t *Topology) Node(id int) *NUMANode {
	return find(t.Nodes, func(n *NUMANode) bool { return n.ID == id })
}

// Socket returns the socket id, or nil if there is none.
func (t *Topology) Socket(id int) *Socket {
	return find(t.Sockets, func(s *Socket) bool { return s.ID == id })
}

// CPU returns the online CPU id, or nil if it is not online.
func (t *Topology) CPU(id int) *CPU {
	if i := t.cpuIndex(id); i >= 0 {
		return &t.CPUs[i]
	}
	return nil
}

// cpuIndex returns the position of CPU id in CPUs, which are ascending by
// id, or -1.
func (t *Topology) cpuIndex(id int) int {
	i := sort.Search(len(t.CPUs), func(i int) bool { return t.CPUs[i].ID >= id })
	if i < len(t.CPUs) && t.CPUs[i].ID == id {
		return i
	}
	return -1
}

// CPUSet returns the online CPUs.
func (t *Topology) CPUSet() cpuset.CPUSet {
	ids := make([]int, len(t.CPUs))
	for i, c := range t.CPUs {
		ids[i] = c.ID
	}
	return cpuset.New(ids...)
}

// CPUsByNode returns the online CPUs of each NUMA node, ascending by id;
// CPUs whose node is unknown are under Unknown.
func (t *Topology) CPUsByNode() map[int][]CPU {
	out := map[int][]CPU{}
	for _, c := range t.CPUs {
		out[c.Node] = append(out[c.Node], c)
	}
	return out
}

// ThreadsPerCore returns the most hardware threads any core has online:
// 2 on machines with SMT2, even hybrid ones whose efficiency cores have a
// single thread; 0 without CPUs.
func (t *Topology) ThreadsPerCore() int {
	most := 0
	for _, c := range t.CPUs {
		most = max(most, c.Siblings.Size())
	}
	return most
}

// Cores returns the number of physical cores with an online thread.
func (t *Topology) Cores() int {
	return countCores(t.CPUs)
}

// countCores counts the distinct cores of cpus. A CPU whose core is
// unknown counts as a core of its own; otherwise sibling sets identify
// cores, which also holds where core ids repeat across dies.
func countCores(cpus []CPU) int {
	seen := map[string]bool{}
	for _, c := range cpus {
		if c.Siblings.IsEmpty() {
			seen[cpuset.New(c.ID).String()] = true
			continue
		}
		seen[c.Siblings.String()] = true
	}
	return len(seen)
}

// L3Groups returns the CPUs sharing each L3 cache, by cache group id;
// CPUs whose group is unknown are left out.
func (t *Topology) L3Groups() map[int]cpuset.CPUSet {
	ids := map[int][]int{}
	for _, c := range t.CPUs {
		if c.L3 != Unknown {
			ids[c.L3] = append(ids[c.L3], c.ID)
		}
	}
	out := make(map[int]cpuset.CPUSet, len(ids))
	for g, cpus := range ids {
		out[g] = cpuset.New(cpus...)
	}
	return out
}

// GPU returns the GPU at the PCI address ("0000:1b:00.0"), or nil.
func (t *Topology) GPU(address string) *PCIDevice {
	return find(t.GPUs, func(g *PCIDevice) bool { return g.Address == address })
}

// NIC returns the NIC at the PCI address, or nil.
func (t *Topology) NIC(address string) *NIC {
	return find(t.NICs, func(n *NIC) bool { return n.Address == address })
}
