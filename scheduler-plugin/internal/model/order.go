package model

import (
	"cmp"
	"math/bits"
	"slices"

	resourceapi "k8s.io/api/resource/v1"
)

// prefKey is a device's place in hadron's preference order; keys compare
// field by field, lower first. The allocator takes the first devices that
// fit in the order it is given, and backtracks in that order, so this
// order decides which of the feasible choices it makes.
type prefKey struct {
	// unusable devices (allocated, full) go last: the allocator would
	// only skip them.
	unusable int
	// tier puts active GPUs (shares or partitions allocated) before idle
	// ones for shared and MIG devices: using them wakes nothing and
	// leaves idle GPUs whole.
	tier int
	// fit is an active GPU's free capacity: ascending, so that the first
	// one that fits is the best fit (least capacity left over), whatever
	// the request's size.
	fit int64
	// numa is the NUMA node's packing rank.
	numa int
	// gpu groups a GPU's devices, in publication order.
	gpu int
	// loss ranks a MIG placement by what it costs the GPU's remaining
	// placements (see migLoss).
	loss migLoss
}

func comparePrefs(a, b prefKey) int {
	return cmp.Or(
		cmp.Compare(a.unusable, b.unusable),
		cmp.Compare(a.tier, b.tier),
		cmp.Compare(a.fit, b.fit),
		cmp.Compare(a.numa, b.numa),
		cmp.Compare(a.gpu, b.gpu),
		cmp.Compare(-a.loss.largest, -b.loss.largest),
		cmp.Compare(-a.loss.remaining, -b.loss.remaining),
	)
}

// migLoss describes a MIG GPU after a placement is taken: the largest
// placement still possible (memory slices) and how many placements remain.
// A placement that keeps a larger one possible, then more of them,
// fragments the GPU less. This generalises "leave the largest contiguous
// free block" to the hardware's placement rules (a 4g profile can only
// start at slice 0 on A100/H100, so a 1g is better put at the end).
type migLoss struct{ largest, remaining int }

func (n *Node) migLossAfter(gi int, used uint64, compute int) migLoss {
	g := &n.GPUs[gi]
	var l migLoss
	for _, p := range g.Placements {
		if used&p.Mask() != 0 || compute+p.Compute > g.ComputeSlices {
			continue
		}
		l.remaining++
		l.largest = max(l.largest, p.Size)
	}
	return l
}

// key computes device di's preference key.
func (n *Node) key(di int) prefKey {
	d := &n.Devices[di]
	k := prefKey{numa: n.NUMARank(d.NUMA)}
	if !n.usable(di, n.Use, n.GPUUse) {
		k.unusable = 1
	}
	if d.GPU >= 0 {
		k.gpu = d.GPU
	}
	switch d.Kind {
	case KindSharedGPU:
		if n.GPUUse[d.GPU].Busy() {
			k.fit = n.FreeMilli(d.GPU)
		} else {
			k.tier = 1
		}
	case KindMIG:
		gu := n.GPUUse[d.GPU]
		if gu.Busy() {
			k.fit = int64(n.GPUs[d.GPU].MemorySlices - bits.OnesCount64(gu.UsedSlices))
		} else {
			k.tier = 1
		}
		k.loss = n.migLossAfter(d.GPU, gu.UsedSlices|SliceMask(d.MIGStart, d.MIGSize), gu.UsedCompute+d.MIGCompute)
	case KindMIGWhole:
		// Only possible on an idle GPU; MIG partitions of active GPUs
		// come first.
		k.tier = 1
	}
	return k
}

// orderDevices sorts each pool's devices by preference (stably, so that
// equal devices keep their published order) and builds the reordered
// slices.
func (n *Node) orderDevices() {
	keys := make([]prefKey, len(n.Devices))
	for di := range n.Devices {
		keys[di] = n.key(di)
	}
	n.view = map[*resourceapi.ResourceSlice]*resourceapi.ResourceSlice{}
	n.order = make([]int, 0, len(n.Devices))
	for _, p := range n.pools {
		perm := slices.Clone(p.devices)
		slices.SortStableFunc(perm, func(a, b int) int { return comparePrefs(keys[a], keys[b]) })
		n.order = append(n.order, perm...)
		if slices.Equal(perm, p.devices) {
			continue
		}
		// Refill the pool's slices at their original sizes. Devices are
		// copied by value; their maps are shared with the informer's
		// objects, which nobody writes.
		reordered := make([]resourceapi.Device, len(perm))
		for i, di := range perm {
			reordered[i] = *n.Devices[di].Raw
		}
		off := 0
		for _, s := range p.slices {
			size := len(s.Spec.Devices)
			c := *s
			c.Spec.Devices = reordered[off : off+size : off+size]
			off += size
			n.view[s] = &c
		}
	}
}

// Order returns the node's devices in the order the allocator sees them
// through the view. The caller must not modify it.
func (n *Node) Order() []int { return n.order }
