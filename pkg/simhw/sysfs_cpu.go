package simhw

import (
	"fmt"
	"strings"
)

// SLIT distances written to nodeN/distance: 10 is local by definition;
// 12 between nodes of one socket and 21 between sockets are what current
// two-socket Xeon and EPYC servers report (numactl -H).
const (
	distanceLocal        = 10
	distanceSameSocket   = 12
	distanceRemoteSocket = 21
)

const (
	cpuDir  = "sys/devices/system/cpu"
	nodeDir = "sys/devices/system/node"
)

func (m *Machine) writeCPUs(w *treeWriter) error {
	c := &m.CPU
	all := c.logicalCPUs()
	n := len(all)
	coreThreads := groupCPUs(all, c.cores(), func(l logicalCPU) int { return l.CoreSeq })
	threadLists := cpuLists(coreThreads)
	pkgLists := cpuLists(groupCPUs(all, c.Sockets, func(l logicalCPU) int { return l.Socket }))
	for _, l := range all {
		base := fmt.Sprintf("%s/cpu%d", cpuDir, l.ID)
		threads, pkg := threadLists[l.CoreSeq], pkgLists[l.Socket]
		// The attributes topology readers use (kubelet's cAdvisor, ghw,
		// hwloc, lscpu): ids, and sibling sets as lists plus the classic
		// thread_siblings mask. The other mask variants carry the same
		// sets and are left out because file creation dominates the cost
		// of writing a tree with hundreds of CPUs.
		files := []attr{
			{"topology/physical_package_id", fmt.Sprint(l.Socket)},
			{"topology/die_id", "0"},
			{"topology/core_id", fmt.Sprint(l.Core)},
			{"topology/thread_siblings_list", threads},
			{"topology/thread_siblings", cpuMask(coreThreads[l.CoreSeq], n)},
			{"topology/core_cpus_list", threads},
			{"topology/core_siblings_list", pkg},
			{"topology/package_cpus_list", pkg},
		}
		// Linux offers no online switch for the boot CPU.
		if l.ID != 0 {
			files = append(files, attr{"online", "1"})
		}
		if err := w.attrs(base, files); err != nil {
			return err
		}
		if err := w.link(fmt.Sprintf("%s/node%d", base, l.Node), fmt.Sprintf("%s/node%d", nodeDir, l.Node)); err != nil {
			return err
		}
	}
	allList := cpuList(seq(n))
	return w.attrs(cpuDir, []attr{
		{"online", allList}, {"possible", allList}, {"present", allList}, {"offline", ""},
	})
}

// groupCPUs returns the ids of the logical CPUs in groups numbered [0, n)
// by key (a core, a socket, an L3 cache), each group ascending.
func groupCPUs(all []logicalCPU, n int, key func(logicalCPU) int) [][]int {
	groups := make([][]int, n)
	for _, l := range all { // ascending by ID
		groups[key(l)] = append(groups[key(l)], l.ID)
	}
	return groups
}

// cpuLists formats each group as a sysfs list, once: a tree repeats each
// in the directory of every CPU of the group.
func cpuLists(groups [][]int) []string {
	out := make([]string, len(groups))
	for i, ids := range groups {
		out[i] = cpuList(ids)
	}
	return out
}

func (m *Machine) writeNodes(w *treeWriter) error {
	c := &m.CPU
	nodes := m.NUMANodes()
	ncpu := c.cpus()
	for node := 0; node < nodes; node++ {
		base := fmt.Sprintf("%s/node%d", nodeDir, node)
		cpus := c.nodeCPUs(node)
		dist := make([]string, nodes)
		for other := range dist {
			switch {
			case other == node:
				dist[other] = fmt.Sprint(distanceLocal)
			case c.socketOfNode(other) == c.socketOfNode(node):
				dist[other] = fmt.Sprint(distanceSameSocket)
			default:
				dist[other] = fmt.Sprint(distanceRemoteSocket)
			}
		}
		kib := c.nodeMemoryKiB(node)
		meminfo := fmt.Sprintf("Node %[1]d MemTotal:       %[2]d kB\nNode %[1]d MemFree:        %[2]d kB\n"+
			"Node %[1]d MemUsed:        0 kB\nNode %[1]d HugePages_Total:     0\n"+
			"Node %[1]d HugePages_Free:      0\nNode %[1]d HugePages_Surp:      0\n", node, kib)
		files := []attr{
			{"cpulist", cpuList(cpus)},
			{"cpumap", cpuMask(cpus, ncpu)},
			{"distance", strings.Join(dist, " ")},
		}
		if err := w.attrs(base, files); err != nil {
			return err
		}
		if err := w.raw(base+"/meminfo", meminfo); err != nil {
			return err
		}
		// ghw refuses a node without a hugepages directory; no huge pages
		// are reserved on a fresh machine.
		for _, size := range []string{"hugepages-2048kB", "hugepages-1048576kB"} {
			for _, f := range []string{"nr_hugepages", "free_hugepages", "surplus_hugepages"} {
				if err := w.file(base+"/hugepages/"+size+"/"+f, "0"); err != nil {
					return err
				}
			}
		}
		for _, id := range cpus {
			if err := w.link(fmt.Sprintf("%s/cpu%d", base, id), fmt.Sprintf("%s/cpu%d", cpuDir, id)); err != nil {
				return err
			}
		}
	}
	allNodes := cpuList(seq(nodes))
	for _, name := range []string{"online", "possible", "has_cpu", "has_memory", "has_normal_memory"} {
		if err := w.file(nodeDir+"/"+name, allNodes); err != nil {
			return err
		}
	}
	for _, size := range []string{"hugepages-2048kB", "hugepages-1048576kB"} {
		if err := w.file("sys/kernel/mm/hugepages/"+size+"/nr_hugepages", "0"); err != nil {
			return err
		}
	}
	return nil
}

// cpuVendor returns the /proc/cpuinfo vendor_id matching the model string.
func (c *CPUTopology) cpuVendor() string {
	switch {
	case strings.Contains(c.Model, "AMD"):
		return "AuthenticAMD"
	case strings.Contains(c.Model, "Intel"):
		return "GenuineIntel"
	default:
		return "unknown"
	}
}

// writeProc writes /proc/cpuinfo and /proc/meminfo: ghw takes the processor
// model and vendor from cpuinfo and drops any CPU it cannot find there, and
// the default huge page size from meminfo.
func (m *Machine) writeProc(w *treeWriter) error {
	c := &m.CPU
	model := c.Model
	if model == "" {
		model = "Simulated CPU"
	}
	var b strings.Builder
	for _, l := range c.logicalCPUs() {
		fmt.Fprintf(&b, "processor\t: %d\nvendor_id\t: %s\nmodel name\t: %s\nphysical id\t: %d\n"+
			"siblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\n\n",
			l.ID, c.cpuVendor(), model, l.Socket, c.CoresPerSocket*c.ThreadsPerCore, l.Core, c.CoresPerSocket)
	}
	if err := w.raw("proc/cpuinfo", b.String()); err != nil {
		return err
	}
	total := int64(c.MemoryGiB) * 1024 * 1024
	// The huge page lines are what ghw's topology reader needs to describe
	// a node's memory: no huge pages reserved, 2 MiB the default size.
	return w.raw("proc/meminfo", fmt.Sprintf("MemTotal:       %[1]d kB\nMemFree:        %[1]d kB\nMemAvailable:   %[1]d kB\n"+
		"HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n"+
		"Hugepagesize:       2048 kB\nHugetlb:               0 kB\n", total))
}
