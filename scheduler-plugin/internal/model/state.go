package model

import (
	"cmp"
	"context"
	"math/bits"
	"slices"

	resourceapi "k8s.io/api/resource/v1"
)

// Use is what is allocated of one device.
type Use struct {
	// Allocated is set when the device is allocated whole.
	Allocated bool
	// Shares counts allocations of a shared device.
	Shares int
	// Consumed sums the capacity its shares consume, by capacity name,
	// rounded up to whole base units.
	Consumed map[resourceapi.QualifiedName]int64
	// Inexact is set when some consumed amount is not a whole number of
	// base units: Consumed then overstates it.
	Inexact bool
}

// GPUUse is what is allocated of one physical GPU.
type GPUUse struct {
	// UsedMilli is the allocated part in milli-GPU: 1000 for an allocated
	// whole GPU, the shares' compute on a shared GPU, the used memory
	// slices' part on a MIG-mode GPU.
	UsedMilli int64
	// UsedSlices and UsedCompute are a MIG-mode GPU's taken memory slices
	// (bit i = slice i) and compute slices.
	UsedSlices  uint64
	UsedCompute int
}

// Busy says whether anything of the GPU is allocated: an active GPU draws
// power and is where further shares and partitions fit best.
func (u GPUUse) Busy() bool { return u.UsedMilli > 0 || u.UsedSlices != 0 || u.UsedCompute > 0 }

// Node is a node's devices together with what is allocated of them, and
// hadron's preference order. It is immutable once built and shared by
// every plugin evaluating the same snapshot.
type Node struct {
	*Inventory
	Use    []Use
	GPUUse []GPUUse
	// numaRank orders the node's NUMA nodes for packing: lower first.
	numaRank map[int]int
	// size is the GPU request size the order is for (1 for
	// single-device requests).
	size int
	// order lists the devices in the order the allocator will see them
	// through the view: pools in driver and name order, each pool in
	// preference order.
	order []int
	// view maps each of the node's device slices to its reordered copy.
	view map[*resourceapi.ResourceSlice]*resourceapi.ResourceSlice
}

// newNode applies allocations to a node's devices and orders them for
// requests of size GPUs.
func newNode(nd *Inventory, alloc *nodeAllocations, size int) *Node {
	n := &Node{Inventory: nd, Use: make([]Use, len(nd.Devices)), GPUUse: make([]GPUUse, len(nd.GPUs)), size: max(size, 1)}
	if alloc != nil {
		index := make(map[devRef]int, len(nd.Devices))
		for i := range nd.Devices {
			d := &nd.Devices[i]
			index[devRef{d.Driver, d.Pool, d.Name}] = i
		}
		for _, r := range alloc.dedicated {
			if i, ok := index[r]; ok {
				n.Use[i].Allocated = true
			}
		}
		for r, count := range alloc.shares {
			if i, ok := index[r]; ok {
				n.Use[i].Shares = count
			}
		}
		for r, c := range alloc.consumed {
			if i, ok := index[r]; ok {
				n.Use[i].Consumed = c
				n.Use[i].Inexact = alloc.inexact[r]
			}
		}
	}
	for gi := range nd.GPUs {
		n.GPUUse[gi] = n.gpuUse(gi, n.Use)
	}
	n.rankNUMA()
	n.orderDevices()
	return n
}

// gpuUse sums what is allocated of GPU gi under uses.
func (n *Node) gpuUse(gi int, uses []Use) GPUUse {
	g := &n.GPUs[gi]
	var u GPUUse
	for _, di := range g.Devices {
		d, use := &n.Devices[di], uses[di]
		switch d.Kind {
		case KindGPU:
			if use.Allocated {
				u.UsedMilli = 1000
			}
		case KindMIGWhole:
			if use.Allocated {
				u.UsedSlices |= SliceMask(0, g.MemorySlices)
				u.UsedCompute = g.ComputeSlices
			}
		case KindMIG:
			if use.Allocated {
				u.UsedSlices |= SliceMask(d.MIGStart, d.MIGSize)
				u.UsedCompute += d.MIGCompute
			}
		case KindSharedGPU:
			if use.Allocated {
				u.UsedMilli = 1000
			} else {
				u.UsedMilli += consumedOf(d, use, d.primaryCapacity())
			}
		}
	}
	if g.Mode == KindMIG && g.MemorySlices > 0 {
		u.UsedMilli = 1000 * int64(bits.OnesCount64(u.UsedSlices)) / int64(g.MemorySlices)
	}
	u.UsedMilli = min(u.UsedMilli, 1000)
	return u
}

// consumedOf returns how much of a capacity a shared device's shares take,
// accepting the name with or without the driver's domain.
func consumedOf(d *Device, use Use, name resourceapi.QualifiedName) int64 {
	v, _ := lookupQualified(use.Consumed, d.Driver, name)
	return v
}

// FreeMilli is how much of GPU gi is unallocated, in milli-GPU.
func (n *Node) FreeMilli(gi int) int64 { return 1000 - n.GPUUse[gi].UsedMilli }

// remaining returns how much of a shared device's capacity is left; -1
// when the device does not have the capacity.
func (n *Node) remaining(di int, uses []Use, name resourceapi.QualifiedName) int64 {
	d := &n.Devices[di]
	total := d.CapacityOf(name)
	if total == 0 {
		return -1
	}
	if uses[di].Allocated {
		return 0
	}
	return total - consumedOf(d, uses[di], name)
}

// usable says whether device di can take another allocation at all under
// uses and gpuUses: the cheap test the preference order puts first.
func (n *Node) usable(di int, uses []Use, gpuUses []GPUUse) bool {
	d, use := &n.Devices[di], uses[di]
	if use.Allocated || d.Tainted {
		return false
	}
	switch d.Kind {
	case KindMIGWhole:
		return !gpuUses[d.GPU].Busy()
	case KindMIG:
		g, gu := &n.GPUs[d.GPU], gpuUses[d.GPU]
		return gu.UsedSlices&SliceMask(d.MIGStart, d.MIGSize) == 0 && gu.UsedCompute+d.MIGCompute <= max(g.ComputeSlices, d.MIGCompute)
	}
	if d.Shared {
		if name := d.primaryCapacity(); name != "" {
			return n.remaining(di, uses, name) != 0
		}
	}
	return true
}

// IsUsable says whether device di can take another allocation now.
func (n *Node) IsUsable(di int) bool { return n.usable(di, n.Use, n.GPUUse) }

// numaStats summarises one NUMA node for ranking.
type numaStats struct {
	used     bool // something on it is allocated
	freeGPUs int  // GPUs with unallocated capacity
	free     bool // it still offers something
}

// rankNUMA ranks the node's NUMA nodes for packing. For single-device
// requests: NUMA nodes that are partly used and still offer devices first
// (fewest free GPUs first, so that the fullest fills up), then untouched
// ones, then full ones. That keeps whole NUMA nodes free for claims that
// need them aligned, and lets the requests of one claim land together. On
// nodes with GPUs, "offers" means free GPUs: CPUs and NICs then follow the
// GPUs, rather than pull the next GPU away to where only CPUs are left.
//
// For a pod whose largest GPU request asks for size > 1 GPUs, NUMA nodes
// with at least size free GPUs come first, the tightest fit first: a
// partly used NUMA node with fewer free GPUs would give the first-fit
// allocator its last GPUs and make it spill onto the next NUMA node,
// where a NUMA node that fits would have kept the request aligned.
func (n *Node) rankNUMA() {
	stats := map[int]*numaStats{}
	for _, id := range n.NUMANodes {
		stats[id] = &numaStats{}
	}
	hasGPUs := len(n.GPUs) > 0
	for gi := range n.GPUs {
		s := stats[n.GPUs[gi].NUMA]
		if s == nil {
			continue
		}
		if n.GPUUse[gi].Busy() {
			s.used = true
		}
		if n.FreeMilli(gi) > 0 {
			s.freeGPUs++
			s.free = true
		}
	}
	for di := range n.Devices {
		d := &n.Devices[di]
		s := stats[d.NUMA]
		if s == nil || d.Kind.IsGPU() {
			continue
		}
		if n.Use[di].Allocated || n.Use[di].Shares > 0 {
			s.used = true
		}
		if !hasGPUs && n.usable(di, n.Use, n.GPUUse) {
			s.free = true
		}
	}
	tier := func(s *numaStats) int {
		switch {
		case s.used && s.free:
			return 0
		case s.free:
			return 1
		}
		return 2
	}
	size := 1
	if hasGPUs {
		size = n.size
	}
	// fit is 0 for NUMA nodes that can serve a request of size devices
	// alone, and then, for multi-device requests, their free GPUs (the
	// tightest fit first). For size 1 every NUMA node that offers
	// anything fits, and the order is tier, then free GPUs.
	fit := func(s *numaStats) (int, int) {
		if !s.free || (hasGPUs && s.freeGPUs < size) {
			return 1, 0
		}
		if size > 1 {
			return 0, s.freeGPUs
		}
		return 0, 0
	}
	ids := append([]int(nil), n.NUMANodes...)
	slices.SortStableFunc(ids, func(a, b int) int {
		sa, sb := stats[a], stats[b]
		fa, ta := fit(sa)
		fb, tb := fit(sb)
		return cmp.Or(
			cmp.Compare(fa, fb),
			cmp.Compare(ta, tb),
			cmp.Compare(tier(sa), tier(sb)),
			cmp.Compare(sa.freeGPUs, sb.freeGPUs),
			cmp.Compare(a, b),
		)
	})
	n.numaRank = make(map[int]int, len(ids))
	for i, id := range ids {
		n.numaRank[id] = i
	}
}

// NUMARank returns the packing rank of a NUMA node: lower is preferred;
// devices without a NUMA node come after all others.
func (n *Node) NUMARank(numa int) int {
	if r, ok := n.numaRank[numa]; ok {
		return r
	}
	return len(n.numaRank)
}

// ConsumedOf returns how much of a capacity device di's shares take under
// uses.
func (n *Node) ConsumedOf(di int, uses []Use, name resourceapi.QualifiedName) int64 {
	if uses[di].Allocated {
		return n.Devices[di].CapacityOf(name)
	}
	return consumedOf(&n.Devices[di], uses[di], name)
}

// CanTake says whether device di could take one allocation of request r
// now, capacity included.
func (n *Node) CanTake(di int, r *Request) bool {
	_, ok := n.fits(di, n.Use, n.GPUUse, r)
	return ok
}

// fits says whether device di can take one allocation of request r under
// uses and gpuUses, capacity included, and returns what that allocation
// consumes of a shared device (nil for a dedicated one).
func (n *Node) fits(di int, uses []Use, gpuUses []GPUUse, r *Request) (map[resourceapi.QualifiedName]int64, bool) {
	if !n.usable(di, uses, gpuUses) {
		return nil, false
	}
	d := &n.Devices[di]
	if !d.Shared {
		return nil, true
	}
	consumed := r.consumption(d)
	for name, want := range consumed {
		if left := n.remaining(di, uses, name); left >= 0 && want > left {
			return nil, false
		}
	}
	return consumed, true
}

// PowerFraction is how much of GPU gi's compute is allocated under u, from
// 0 to 1: compute slices on a MIG-mode GPU, milli-GPU otherwise.
func (n *Node) PowerFraction(gi int, u GPUUse) float64 {
	g := &n.GPUs[gi]
	if g.Mode == KindMIG && g.ComputeSlices > 0 {
		return min(1, float64(u.UsedCompute)/float64(g.ComputeSlices))
	}
	return float64(u.UsedMilli) / 1000
}

// gpuRequestSize is the number of GPUs the largest request of demand asks
// of this node's GPUs, for ordering: a request's count where it selects
// GPUs, whole or shared (the allocator gives each device of one request a
// distinct device, so a request for three shares spans three GPUs), and 1
// where it takes all matching devices. Sizes that no NUMA
// node's GPUs could serve alone order like single-device requests (the
// request spills anyway, and packing then leaves the most whole), so they
// map to 1 and share that model.
func (nd *Inventory) gpuRequestSize(ctx context.Context, demand *Demand) int {
	size := 1
	if demand == nil || len(nd.GPUs) < 2 {
		return size
	}
	for i := range demand.Requests {
		r := &demand.Requests[i]
		if r.All || r.Count <= int64(size) || r.Count > int64(nd.mostGPUsPerNUMA) {
			continue
		}
		matched, err := nd.Match(ctx, r)
		if err != nil {
			// The allocator reports the error; order as for one device.
			continue
		}
		if slices.ContainsFunc(matched, func(di int) bool { return nd.Devices[di].Kind.IsGPU() }) {
			size = int(r.Count)
		}
	}
	return size
}
