package model

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	resourceapi "k8s.io/api/resource/v1"
)

// Counter names of a MIG-mode GPU's counter set (driver/gpu publishes
// them).
const (
	computeSlicesCounter     = "compute-slices"
	memorySliceCounterPrefix = "memory-slice-"
)

// GPU is one physical GPU of a node.
type GPU struct {
	// Key is the GPU's UUID (or, lacking one, its counter set).
	Key string
	// Mode is KindGPU (whole), KindMIG or KindSharedGPU.
	Mode                Kind
	NUMA                int
	PCIeRoot            string
	IdleWatts, MaxWatts float64
	// MemorySlices and ComputeSlices size a MIG-mode GPU.
	MemorySlices, ComputeSlices int
	// Placements are the distinct MIG placements the GPU offers.
	Placements []MIGPlacement
	// Devices index Inventory.Devices: every device cut from this GPU.
	Devices []int
}

// MIGPlacement is where a MIG profile can sit: memory slices
// [Start, Start+Size) and Compute compute slices.
type MIGPlacement struct{ Start, Size, Compute int }

func (p MIGPlacement) Mask() uint64 { return SliceMask(p.Start, p.Size) }

// SliceMask is the bit mask of memory slices [start, start+size).
func SliceMask(start, size int) uint64 {
	if size <= 0 || start < 0 || start+size > 64 {
		return 0
	}
	return ((uint64(1) << size) - 1) << start
}

// pool is one complete hadron pool of a node.
type pool struct {
	driver, name string
	// slices are the pool's device slices in name order, the order the
	// allocator walks them in.
	slices []*resourceapi.ResourceSlice
	// counters are the pool's slices that hold counter sets only.
	counters []*resourceapi.ResourceSlice
	// devices index Inventory.Devices in that walk order.
	devices []int
}

// Inventory is what a node publishes, independent of allocations. It is
// rebuilt only when the node's hadron slices change.
type Inventory struct {
	Node    string
	Devices []Device
	GPUs    []GPU
	// NUMANodes are the distinct NUMA nodes of the devices, ascending.
	NUMANodes []int
	pools     []*pool
	// mostGPUsPerNUMA is the number of GPUs of the NUMA node with the most:
	// no larger request can be served by one NUMA node. Every pod's
	// snapshot asks it of every node, so it is counted once here.
	mostGPUsPerNUMA int

	// selected caches, per selector key, which devices pass a request's
	// selectors, and matches, per request key, which of those also offer
	// the requested capacity: that depends on the devices only, and a
	// workload asks the same few kinds of requests over and over (with
	// many different amounts, hence the selector-only cache that spares
	// the CEL evaluations).
	matchMu  sync.Mutex
	selected map[string][]int
	matches  map[string][]int
}

// maxCachedMatches bounds each per-node match cache.
const maxCachedMatches = 64

// newInventory models the complete hadron pools of one node, given in
// driver and pool name order with their device slices in name order (as
// groupPools returns them), which is how the allocator walks them.
func newInventory(node string, pools []*pool) *Inventory {
	nd := &Inventory{Node: node, pools: pools, selected: map[string][]int{}, matches: map[string][]int{}}
	counters := map[string]map[string]int64{}
	gpuIndex := map[string]int{}
	numa := map[int]bool{}
	for _, p := range pools {
		for _, s := range p.slices {
			for i := range s.Spec.Devices {
				d := newDevice(p.driver, p.name, &s.Spec.Devices[i])
				if d.Kind.IsGPU() {
					key := gpuKey(&d)
					gi, ok := gpuIndex[key]
					if !ok {
						gi = len(nd.GPUs)
						gpuIndex[key] = gi
						nd.GPUs = append(nd.GPUs, GPU{Key: key, Mode: KindGPU, NUMA: d.NUMA, PCIeRoot: d.PCIeRoot,
							IdleWatts: d.IdleWatts, MaxWatts: d.MaxWatts})
					}
					d.GPU = gi
					nd.GPUs[gi].Devices = append(nd.GPUs[gi].Devices, len(nd.Devices))
				}
				if d.NUMA != NoNUMA {
					numa[d.NUMA] = true
				}
				p.devices = append(p.devices, len(nd.Devices))
				nd.Devices = append(nd.Devices, d)
			}
		}
		for _, s := range p.counters {
			for _, set := range s.Spec.SharedCounters {
				m := map[string]int64{}
				for name, c := range set.Counters {
					m[name] = c.Value.Value()
				}
				counters[set.Name] = m
			}
		}
	}
	perNUMA := map[int]int{}
	for gi := range nd.GPUs {
		nd.completeGPU(&nd.GPUs[gi], counters)
		perNUMA[nd.GPUs[gi].NUMA]++
		nd.mostGPUsPerNUMA = max(nd.mostGPUsPerNUMA, perNUMA[nd.GPUs[gi].NUMA])
	}
	for n := range numa {
		nd.NUMANodes = append(nd.NUMANodes, n)
	}
	slices.Sort(nd.NUMANodes)
	return nd
}

// completeGPU works out a GPU's mode and MIG geometry from its devices.
func (nd *Inventory) completeGPU(g *GPU, counters map[string]map[string]int64) {
	seen := map[MIGPlacement]bool{}
	var set string
	for _, di := range g.Devices {
		d := &nd.Devices[di]
		switch d.Kind {
		case KindMIG:
			g.Mode = KindMIG
			p := MIGPlacement{Start: d.MIGStart, Size: d.MIGSize, Compute: d.MIGCompute}
			if !seen[p] {
				seen[p] = true
				g.Placements = append(g.Placements, p)
			}
			g.MemorySlices = max(g.MemorySlices, p.Start+p.Size)
			g.ComputeSlices = max(g.ComputeSlices, p.Compute)
		case KindMIGWhole:
			g.Mode = KindMIG
		case KindSharedGPU:
			g.Mode = KindSharedGPU
		}
		if len(d.Raw.ConsumesCounters) > 0 && set == "" {
			set = d.Raw.ConsumesCounters[0].CounterSet
		}
		if d.IdleWatts > 0 && g.IdleWatts == 0 {
			g.IdleWatts, g.MaxWatts = d.IdleWatts, d.MaxWatts
		}
	}
	// The counter set is authoritative when present: an admin may offer
	// only small profiles, which then do not span the whole GPU.
	if c, ok := counters[set]; ok {
		mem := 0
		for name := range c {
			if strings.HasPrefix(name, memorySliceCounterPrefix) {
				mem++
			}
		}
		g.MemorySlices = max(g.MemorySlices, mem)
		if v, ok := c[computeSlicesCounter]; ok {
			g.ComputeSlices = int(v)
		}
	}
	slices.SortFunc(g.Placements, func(a, b MIGPlacement) int {
		return cmp.Or(cmp.Compare(a.Size, b.Size), cmp.Compare(a.Compute, b.Compute), cmp.Compare(a.Start, b.Start))
	})
}
