package cpu

import (
	"fmt"
	"sort"

	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/pkg/topology"
)

// Choice is the set of CPUs picked for one allocation and how well it
// fits the hardware.
type Choice struct {
	CPUs cpuset.CPUSet
	// WholeCores is true when every physical core touched is owned
	// completely, so no other workload shares its L1/L2 caches and
	// execution units.
	WholeCores bool
	// L3Groups is the number of last-level cache groups the CPUs span.
	L3Groups int
}

// core is one physical core of the node with the hardware threads the
// driver may hand out.
type core struct {
	threads []int // ascending
	l3      int
}

// cacheGroup is the cores of one L3 cache.
type cacheGroup struct {
	cores []*core
}

// layout is a NUMA node's offered CPUs, grouped by L3 cache and by core,
// in a fixed order so that choices are deterministic.
type layout struct {
	groups []*cacheGroup
}

// newLayout groups the offered CPUs (already restricted to one NUMA node,
// reserved CPUs removed) by cache and core. Cores and groups are ordered
// by their lowest CPU id.
func newLayout(cpus []topology.CPU) *layout {
	cores := map[topology.CoreKey]*core{}
	var order []*core
	for _, c := range cpus {
		k := c.CoreKey()
		if c.Socket == topology.Unknown || c.Core == topology.Unknown {
			// Without a core id every thread stands alone.
			k = topology.CoreKey{Socket: topology.Unknown, Core: -2 - c.ID}
		}
		co, ok := cores[k]
		if !ok {
			co = &core{l3: c.L3}
			cores[k] = co
			order = append(order, co)
		}
		co.threads = append(co.threads, c.ID)
	}
	for _, co := range order {
		sort.Ints(co.threads)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].threads[0] < order[j].threads[0] })
	groups := map[int]*cacheGroup{}
	l := &layout{}
	for _, co := range order {
		g, ok := groups[co.l3]
		if !ok {
			g = &cacheGroup{}
			groups[co.l3] = g
			l.groups = append(l.groups, g)
		}
		g.cores = append(g.cores, co)
	}
	return l
}

// freeIn counts the free threads of a group.
func (g *cacheGroup) freeIn(free cpuset.CPUSet) int {
	n := 0
	for _, co := range g.cores {
		n += co.freeThreads(free)
	}
	return n
}

// wholeFree counts the threads on cores whose every thread is free.
func (g *cacheGroup) wholeFree(free cpuset.CPUSet) int {
	n := 0
	for _, co := range g.cores {
		if co.freeThreads(free) == len(co.threads) {
			n += len(co.threads)
		}
	}
	return n
}

// freeThreads counts the core's threads in free.
func (co *core) freeThreads(free cpuset.CPUSet) int {
	n := 0
	for _, t := range co.threads {
		if free.Contains(t) {
			n++
		}
	}
	return n
}

// choose picks n CPUs out of free. The preference, in order:
//
//  1. one L3 group, so the workload's threads share the last-level cache
//     and nothing else's data evicts it; among the groups that fit, the one
//     that can give whole cores, then the tightest fit (fewest free CPUs,
//     keeping big groups whole for big claims), then the lowest id;
//  2. otherwise as few groups as possible, largest free first;
//  3. inside a group, whole physical cores, so two workloads never share a
//     core's hardware threads; an odd remainder first fills a core that is
//     already partly used rather than breaking a whole one.
//
// The result depends only on the layout, free and n.
func (l *layout) choose(free cpuset.CPUSet, n int) (Choice, error) {
	if n <= 0 {
		return Choice{}, fmt.Errorf("asked for %d CPUs", n)
	}
	total := 0
	for _, g := range l.groups {
		total += g.freeIn(free)
	}
	if total < n {
		return Choice{}, fmt.Errorf("%d CPUs asked for, %d free", n, total)
	}
	var picked []int
	groups := 0
	if g := l.bestSingleGroup(free, n); g != nil {
		picked = g.take(free, n)
		groups = 1
	} else {
		ordered := append([]*cacheGroup(nil), l.groups...)
		sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].freeIn(free) > ordered[j].freeIn(free) })
		need := n
		for _, g := range ordered {
			if need == 0 {
				break
			}
			k := min(need, g.freeIn(free))
			if k == 0 {
				continue
			}
			picked = append(picked, g.take(free, k)...)
			need -= k
			groups++
		}
	}
	set := cpuset.New(picked...)
	return Choice{CPUs: set, WholeCores: l.wholeCores(set), L3Groups: groups}, nil
}

func (l *layout) bestSingleGroup(free cpuset.CPUSet, n int) *cacheGroup {
	var best *cacheGroup
	bestWhole, bestFree := false, 0
	for _, g := range l.groups {
		f := g.freeIn(free)
		if f < n {
			continue
		}
		whole := g.wholeFree(free) >= n
		switch {
		case best == nil,
			whole && !bestWhole,
			whole == bestWhole && f < bestFree:
			best, bestWhole, bestFree = g, whole, f
		}
	}
	return best
}

// take picks n free threads of the group (n ≤ its free threads).
func (g *cacheGroup) take(free cpuset.CPUSet, n int) []int {
	var whole, partial []*core
	for _, co := range g.cores {
		switch f := co.freeThreads(free); {
		case f == 0:
		case f == len(co.threads):
			whole = append(whole, co)
		default:
			partial = append(partial, co)
		}
	}
	// Partly used cores with the fewest free threads first: they are the
	// fragments to fill.
	sort.SliceStable(partial, func(i, j int) bool { return partial[i].freeThreads(free) < partial[j].freeThreads(free) })
	var out []int
	takeFrom := func(co *core, k int) {
		for _, t := range co.threads {
			if k == 0 {
				return
			}
			if free.Contains(t) {
				out = append(out, t)
				k--
			}
		}
	}
	used := map[*core]bool{}
	need := n
	// An odd remainder goes into partly used cores first.
	if tpc := threadsPerCore(g); tpc > 1 {
		if rem := need % tpc; rem > 0 {
			for _, co := range partial {
				if rem == 0 {
					break
				}
				k := min(rem, co.freeThreads(free))
				takeFrom(co, k)
				used[co] = true
				rem -= k
				need -= k
			}
		}
	}
	for _, co := range whole {
		if need < len(co.threads) {
			break
		}
		takeFrom(co, len(co.threads))
		used[co] = true
		need -= len(co.threads)
	}
	for _, list := range [][]*core{partial, whole} {
		for _, co := range list {
			if need == 0 {
				break
			}
			if used[co] {
				continue
			}
			k := min(need, co.freeThreads(free))
			takeFrom(co, k)
			used[co] = true
			need -= k
		}
	}
	return out
}

// threadsPerCore is the largest thread count of the group's cores.
func threadsPerCore(g *cacheGroup) int {
	tpc := 1
	for _, co := range g.cores {
		tpc = max(tpc, len(co.threads))
	}
	return tpc
}

// wholeCores reports whether set owns every thread of each core it
// touches.
func (l *layout) wholeCores(set cpuset.CPUSet) bool {
	for _, g := range l.groups {
		for _, co := range g.cores {
			if in := co.freeThreads(set); in != 0 && in != len(co.threads) {
				return false
			}
		}
	}
	return true
}
