package simhw

import "fmt"

// cacheSpec is a processor's caches in KiB: L2 per core, L3 per socket (split evenly over its L3 groups).
type cacheSpec struct {
	l2, l3PerSocket int
}

// cpuCaches holds the processors of the built-in and example machines, from
// their vendors' product pages (Intel ARK, AMD product specifications).
var cpuCaches = map[string]cacheSpec{
	// Sapphire Rapids (Golden Cove cores): 48K/32K L1, 2 MB L2, 105 MB L3.
	"Intel(R) Xeon(R) Platinum 8480C": {l2: 2048, l3PerSocket: 105 * 1024},
	// Sapphire Rapids, 32 cores: 60 MB L3.
	"Intel(R) Xeon(R) Gold 6448Y": {l2: 2048, l3PerSocket: 60 * 1024},
	// Emerald Rapids (Raptor Cove cores): 48K/32K L1, 2 MB L2, 300 MB L3.
	"Intel(R) Xeon(R) Platinum 8570": {l2: 2048, l3PerSocket: 300 * 1024},
	// Zen 2: 32K/32K L1, 512K L2, 256 MB L3 (16 MB per 4-core CCX).
	"AMD EPYC 7742 64-Core Processor": {l2: 512, l3PerSocket: 256 * 1024},
	// Zen 3: 32K/32K L1, 512K L2, 64 MB L3 (32 MB per 8-core CCD).
	"AMD Ryzen Threadripper PRO 5955WX 16-Cores": {l2: 512, l3PerSocket: 64 * 1024},
}

// cacheSpec returns the processor's caches: the known model's, else those
// of a current part of its vendor scaled to the core count (Zen 2/3 for
// AMD, Sapphire Rapids for anything else).
func (c *CPUTopology) cacheSpec() cacheSpec {
	if s, ok := cpuCaches[c.Model]; ok {
		return s
	}
	if c.cpuVendor() == "AuthenticAMD" {
		return cacheSpec{l2: 512, l3PerSocket: 4096 * c.CoresPerSocket}
	}
	return cacheSpec{l2: 2048, l3PerSocket: 1920 * c.CoresPerSocket}
}

// writeCaches writes cpuN/cache/index2 (L2, per core) and index3 (L3, per
// group of CPU.CoresPerL3 cores) with the attributes ghw, lscpu and the
// kubelet's cAdvisor read (level, type, size, id, shared_cpu_list); cache
// ids are machine-wide core and group numbers, so L3 ids are unique on the
// machine as on current kernels. The L1 caches (per core, like L2) and the
// mask and line-size variants are left out: they tell topology readers
// nothing L2 does not, and file creation dominates the cost of a tree
// (these files are most of it).
func (m *Machine) writeCaches(w *treeWriter) error {
	c := &m.CPU
	all := c.logicalCPUs()
	spec := c.cacheSpec()
	perL3 := c.l3Cores()
	l3KiB := spec.l3PerSocket * perL3 / c.CoresPerSocket
	coreLists := cpuLists(groupCPUs(all, c.cores(), func(l logicalCPU) int { return l.CoreSeq }))
	l3Lists := cpuLists(groupCPUs(all, c.cores()/perL3, func(l logicalCPU) int { return l.CoreSeq / perL3 }))
	for _, l := range all {
		group := l.CoreSeq / perL3
		// Cache indexK holds the level K cache.
		levels := []struct {
			level, kib, id int
			shared         string
		}{
			{2, spec.l2, l.CoreSeq, coreLists[l.CoreSeq]},
			{3, l3KiB, group, l3Lists[group]},
		}
		files := make([]attr, 0, 5*len(levels))
		for _, x := range levels {
			dir := fmt.Sprintf("index%d/", x.level)
			files = append(files,
				attr{dir + "level", fmt.Sprint(x.level)},
				attr{dir + "type", "Unified"},
				attr{dir + "size", fmt.Sprintf("%dK", x.kib)},
				attr{dir + "id", fmt.Sprint(x.id)},
				attr{dir + "shared_cpu_list", x.shared},
			)
		}
		if err := w.attrs(fmt.Sprintf("%s/cpu%d/cache", cpuDir, l.ID), files); err != nil {
			return err
		}
	}
	return nil
}
