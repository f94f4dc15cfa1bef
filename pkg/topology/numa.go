package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"k8s.io/utils/cpuset"
)

const nodeDir = "sys/devices/system/node"

// readNodes fills t.Nodes and each CPU's Node. A CPU's node comes from
// the nodes' cpulist files, else from the node's cpuM links, else from the
// CPU's nodeM link; a machine without node directories is one node 0.
func (d *discovery) readNodes() {
	entries, err := d.r.readDir(nodeDir)
	var ids []int
	switch {
	case err == nil:
		ids = numbered(entries, "node")
		if len(ids) == 0 {
			d.r.warn(nodeDir, "holds no nodeN directory; taking the machine as one NUMA node")
		}
	case errors.Is(err, fs.ErrNotExist):
		// A kernel built without NUMA support has no node directory: the
		// machine is one node, which is no reason for a warning.
	default:
		d.r.warn(nodeDir, "%s; taking the machine as one NUMA node", why(err))
	}
	if len(ids) == 0 {
		d.singleNode()
		return
	}

	nodeOf := map[int]int{}
	d.t.Nodes = make([]NUMANode, len(ids))
	for i, id := range ids {
		base := fmt.Sprintf("%s/node%d/", nodeDir, id)
		for _, cpu := range d.nodeCPUs(base).List() {
			if prev, taken := nodeOf[cpu]; taken {
				d.r.warn(base+"cpulist", "CPU %d is also in node %d; kept there", cpu, prev)
				continue
			}
			nodeOf[cpu] = id
		}
		d.t.Nodes[i] = NUMANode{ID: id, MemoryBytes: d.nodeMemory(base), Distances: d.distances(base, id, ids)}
	}
	for i := range d.t.CPUs {
		c := &d.t.CPUs[i]
		if node, ok := nodeOf[c.ID]; ok {
			c.Node = node
		} else if node, ok := d.cpuNodeLink(c.ID, ids); ok {
			c.Node = node
		} else {
			d.r.warn(fmt.Sprintf("%s/cpu%d", cpuDir, c.ID), "in no NUMA node's cpulist and without a nodeN link; NUMA node unknown")
		}
	}
	// The nodes' sets are rebuilt from the CPUs so that both views agree
	// whatever fallback placed a CPU.
	byNode := map[int][]int{}
	for _, c := range d.t.CPUs {
		byNode[c.Node] = append(byNode[c.Node], c.ID)
	}
	for i := range d.t.Nodes {
		d.t.Nodes[i].CPUs = cpuset.New(byNode[d.t.Nodes[i].ID]...)
	}
}

// singleNode makes the whole machine node 0, with the memory of
// /proc/meminfo.
func (d *discovery) singleNode() {
	n := NUMANode{ID: 0, CPUs: d.online}
	const meminfo = "proc/meminfo"
	if s, ok := d.r.attr(meminfo, "memory unknown"); ok {
		if b, err := parseMemTotal(s); err == nil {
			n.MemoryBytes = b
		} else {
			d.r.warn(meminfo, "%v; memory unknown", err)
		}
	}
	d.t.Nodes = []NUMANode{n}
	for i := range d.t.CPUs {
		d.t.CPUs[i].Node = 0
	}
}

// nodeCPUs returns the online CPUs of the node directory base: its
// cpulist, or its cpuM links when the list cannot be read. Memory-only
// nodes (CXL memory, GPU memory exposed as a node) have none.
func (d *discovery) nodeCPUs(base string) cpuset.CPUSet {
	if set, ok := d.r.cpuListAttr(base+"cpulist", false, "using the node's cpuN links"); ok {
		return d.onlineOnly(set)
	}
	entries, err := d.r.readDir(base)
	if err != nil {
		d.r.warn(base, "%s; the node's CPUs are unknown", why(err))
		return cpuset.New()
	}
	return cpuset.New(numbered(entries, "cpu")...).Intersection(d.online)
}

func (d *discovery) nodeMemory(base string) int64 {
	rel := base + "meminfo"
	s, ok := d.r.attr(rel, "memory unknown")
	if !ok {
		return 0
	}
	b, err := parseMemTotal(s)
	if err != nil {
		d.r.warn(rel, "%v; memory unknown", err)
		return 0
	}
	return b
}

// distances reads the node's SLIT row. The kernel writes one distance per
// online node in ascending node order, which is the order of ids.
func (d *discovery) distances(base string, self int, ids []int) map[int]int {
	rel := base + "distance"
	s, ok := d.r.attr(rel, "distances unknown")
	if !ok {
		return nil
	}
	row, err := parseDistances(s)
	if err != nil {
		d.r.warn(rel, "%v; distances unknown", err)
		return nil
	}
	if len(row) != len(ids) {
		d.r.warn(rel, "has %d distances for %d nodes; distances unknown", len(row), len(ids))
		return nil
	}
	m := make(map[int]int, len(row))
	for i, dist := range row {
		// The kernel's own check of the firmware's table: 10 to itself,
		// more to any other node.
		if (ids[i] == self) != (dist == localDistance) || dist < localDistance {
			d.r.warn(rel, "distance %d to node %d is not a valid SLIT entry; distances unknown", dist, ids[i])
			return nil
		}
		m[ids[i]] = dist
	}
	return m
}

// localDistance is the SLIT distance of a node to itself.
const localDistance = 10

// cpuNodeLink finds the nodeM entry of CPU id's directory, which Linux
// creates next to the node's cpuN link.
func (d *discovery) cpuNodeLink(id int, nodes []int) (int, bool) {
	entries, err := d.r.readDir(fmt.Sprintf("%s/cpu%d", cpuDir, id))
	if err != nil {
		return 0, false
	}
	for _, n := range numbered(entries, "node") {
		if slices.Contains(nodes, n) {
			return n, true
		}
	}
	return 0, false
}
