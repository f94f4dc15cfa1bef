package fragmentation

import (
	"math/bits"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// task is a typical request with its normalised weight.
type task struct {
	gpus, milli int64
	mig         int
	// cpuMilli and memBytes are what the request asks of its node
	// besides GPUs (0: not considered).
	cpuMilli, memBytes int64
	weight             float64
}

// hostRoom is a node's free CPU and memory, where known.
type hostRoom struct {
	cpuMilli, memBytes int64
	known              bool
}

// takes says whether the node's CPU and memory leave room for t (always,
// when they are not known).
func (r hostRoom) takes(t task) bool {
	return !r.known || (r.cpuMilli >= t.cpuMilli && r.memBytes >= t.memBytes)
}

func tasks(workload []TypicalRequest) []task {
	var sum float64
	for _, r := range workload {
		sum += float64(r.Weight)
	}
	out := make([]task, 0, len(workload))
	for _, r := range workload {
		out = append(out, task{gpus: int64(r.GPUs), milli: int64(r.GPUMilli), mig: int(r.MIGComputeSlices),
			cpuMilli: r.CPUMilli, memBytes: r.MemoryMiB << 20, weight: float64(r.Weight) / sum})
	}
	return out
}

// expected is the node's expected fragmentation, in milli-GPU, when its
// GPUs are used as in uses and room is left of its CPU and memory.
func expected(n *model.Node, uses []model.GPUUse, ts []task, room hostRoom) float64 {
	free := make([]int64, len(n.GPUs))
	var total int64
	for gi := range n.GPUs {
		free[gi] = 1000 - uses[gi].UsedMilli
		total += free[gi]
	}
	var f float64
	for _, t := range ts {
		frag := total
		if room.takes(t) {
			frag = fragment(n, uses, free, total, t)
		}
		f += t.weight * float64(frag)
	}
	return f
}

// fragment is F(m) for one typical request (see the package
// documentation).
func fragment(n *model.Node, uses []model.GPUUse, free []int64, total int64, t task) int64 {
	var frag int64
	switch {
	case t.gpus > 0:
		var whole int64
		for gi := range n.GPUs {
			mode := n.GPUs[gi].Mode
			if (mode == model.KindGPU || mode == model.KindMIG) && !uses[gi].Busy() {
				whole++
			} else {
				frag += free[gi]
			}
		}
		if whole < t.gpus {
			return total
		}
	case t.milli > 0:
		fits := false
		for gi := range n.GPUs {
			if n.GPUs[gi].Mode == model.KindSharedGPU && free[gi] >= t.milli {
				fits = true
			} else {
				frag += free[gi]
			}
		}
		if !fits {
			return total
		}
	case t.mig > 0:
		for gi := range n.GPUs {
			frag += migFragment(&n.GPUs[gi], uses[gi], free[gi], t.mig)
		}
	}
	return frag
}

// migFragment is the free capacity of one GPU that no feasible placement
// of a partition with compute compute slices covers.
func migFragment(g *model.GPU, u model.GPUUse, free int64, compute int) int64 {
	if g.Mode != model.KindMIG || g.MemorySlices == 0 {
		return free
	}
	var covered uint64
	for _, p := range g.Placements {
		if p.Compute == compute && u.UsedSlices&p.Mask() == 0 && u.UsedCompute+p.Compute <= g.ComputeSlices {
			covered |= p.Mask()
		}
	}
	freeSlices := ^u.UsedSlices & model.SliceMask(0, g.MemorySlices)
	return 1000 * int64(bits.OnesCount64(freeSlices&^covered)) / int64(g.MemorySlices)
}

// delta is how much a placement changes its node's expected
// fragmentation; before and after are the node's free CPU and memory
// without and with the pod.
func delta(p *model.Placement, ts []task, before, after hostRoom) float64 {
	return expected(p.Node, p.GPUUse, ts, after) - expected(p.Node, p.Node.GPUUse, ts, before)
}
