package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"

	"k8s.io/utils/cpuset"
)

// l3Info is what sysfs says about one CPU's L3 cache.
type l3Info struct {
	id        int
	hasID     bool
	shared    cpuset.CPUSet
	hasShared bool
}

// readL3 sets each CPU's L3 group. The group is the cache's id (Linux
// 4.14 and later) when every CPU has one and the ids are consistent with
// the CPUs sharing each cache; otherwise the groups are numbered from the
// distinct shared_cpu_list sets, in the order of their lowest CPU. CPUs
// without an L3 (small Arm cores, some virtual machines) keep Unknown.
func (d *discovery) readL3() {
	infos := make(map[int]l3Info, len(d.t.CPUs))
	for _, c := range d.t.CPUs {
		if info, ok := d.readL3Of(c.ID); ok {
			infos[c.ID] = info
		}
	}
	if len(infos) == 0 {
		return
	}
	if d.idsUsable(infos) {
		for i := range d.t.CPUs {
			if info, ok := infos[d.t.CPUs[i].ID]; ok {
				d.t.CPUs[i].L3 = info.id
			}
		}
		return
	}
	// Number the distinct sharing sets by their lowest CPU.
	// Map order is random; walking the CPUs keeps the numbering stable.
	var sets []cpuset.CPUSet
	for _, c := range d.t.CPUs {
		if info := infos[c.ID]; info.hasShared && !slices.ContainsFunc(sets, info.shared.Equals) {
			sets = append(sets, info.shared)
		}
	}
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].List()[0] < sets[j].List()[0] })
	for i := range d.t.CPUs {
		c := &d.t.CPUs[i]
		info, ok := infos[c.ID]
		if !ok {
			continue
		}
		if !info.hasShared {
			d.r.warn(fmt.Sprintf("%s/cpu%d/cache", cpuDir, c.ID), "L3 has neither a usable id nor shared_cpu_list; L3 group unknown")
			continue
		}
		c.L3 = slices.IndexFunc(sets, info.shared.Equals)
	}
}

// idsUsable reports whether the cache ids identify the L3 instances:
// every CPU has one, and CPUs with the same id list the same sharing
// set. Ids that fail the second test are warned about; missing ids are
// not, since kernels before 4.14 have none.
func (d *discovery) idsUsable(infos map[int]l3Info) bool {
	shared := map[int]cpuset.CPUSet{}
	for _, c := range d.t.CPUs {
		info, ok := infos[c.ID]
		if !ok {
			continue
		}
		if !info.hasID {
			return false
		}
		if !info.hasShared {
			continue
		}
		if prev, seen := shared[info.id]; seen && !prev.Equals(info.shared) {
			d.r.warn(cpuDir+"/cpu*/cache", "L3 id %d names caches shared by CPUs %s and %s; grouping by shared_cpu_list instead",
				info.id, prev.String(), info.shared.String())
			return false
		}
		shared[info.id] = info.shared
	}
	return true
}

// readL3Of reads the level-3 cache of CPU id, if it has one.
func (d *discovery) readL3Of(id int) (l3Info, bool) {
	dir, ok := d.l3Dir(fmt.Sprintf("%s/cpu%d/cache", cpuDir, id))
	if !ok {
		return l3Info{}, false
	}
	info := l3Info{}
	if s, ok := d.r.optAttr(dir+"/id", "grouping by shared_cpu_list"); ok {
		if v, err := strconv.Atoi(s); err == nil && v >= 0 {
			info.id, info.hasID = v, true
		} else {
			d.r.warn(dir+"/id", "not a cache id: %s; grouping by shared_cpu_list", quote(s))
		}
	}
	if set, ok := d.r.cpuListAttr(dir+"/shared_cpu_list", true, "L3 sharing unknown"); ok {
		if set.Contains(id) {
			info.shared, info.hasShared = d.onlineOnly(set), true
		} else {
			d.r.warn(dir+"/shared_cpu_list", "does not list CPU %d itself: %s; L3 sharing unknown", id, set.String())
		}
	}
	return info, true
}

// l3Dir returns the cache/indexK directory of the unified level-3 cache
// below cacheDir. index3 is the L3 on x86 and on most Arm servers, so it
// is tried before listing the directory.
func (d *discovery) l3Dir(cacheDir string) (string, bool) {
	if level, ok := d.r.optAttr(cacheDir+"/index3/level", "looking at the other cache indexes"); ok && level == "3" {
		return cacheDir + "/index3", true
	}
	entries, err := d.r.readDir(cacheDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.r.warn(cacheDir, "missing; L3 group unknown")
		} else {
			d.r.warn(cacheDir, "%s; L3 group unknown", why(err))
		}
		return "", false
	}
	for _, k := range numbered(entries, "index") {
		if k == 3 {
			continue
		}
		dir := fmt.Sprintf("%s/index%d", cacheDir, k)
		if level, ok := d.r.optAttr(dir+"/level", "looking at the other cache indexes"); ok && level == "3" {
			return dir, true
		}
	}
	return "", false
}
