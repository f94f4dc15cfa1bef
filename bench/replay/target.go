package replay

import (
	"cmp"
	"math"
	"slices"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
)

// TargetWorkload is the GPU demand distribution of the workload's
// arrivals, FGD's target workload: one typical request per distinct GPU
// request (k whole GPUs, or a share of d milli-GPU), weighted by how many
// arrivals ask for it, with the median CPU and memory those arrivals ask
// of their node (a node whose CPU or memory cannot take a request strands
// its free GPUs for it, as in the FGD paper). CPU-only pods are left out:
// they use no GPU capacity, fragmented or not. Nil when no arrival asks
// for a GPU.
func TargetWorkload(w *trace.Workload) []fragmentation.TypicalRequest {
	type key struct{ gpus, milli int32 }
	type asks struct{ cpuMilli, memoryMiB []int64 }
	byKey := map[key]*asks{}
	for _, ev := range w.Events {
		if ev.Kind != trace.Arrival {
			continue
		}
		var k key
		switch d := demandOf(ev.Pod); {
		case d.wholeGPUs > 0:
			k = key{gpus: int32(min(d.wholeGPUs, math.MaxInt32))}
		case d.shareMilli > 0:
			k = key{milli: int32(d.shareMilli)}
		default:
			continue
		}
		a := byKey[k]
		if a == nil {
			a = &asks{}
			byKey[k] = a
		}
		a.cpuMilli = append(a.cpuMilli, ev.Pod.CPUMilli)
		a.memoryMiB = append(a.memoryMiB, ev.Pod.MemoryMiB)
	}
	out := make([]fragmentation.TypicalRequest, 0, len(byKey))
	for k, a := range byKey {
		out = append(out, fragmentation.TypicalRequest{GPUs: k.gpus, GPUMilli: k.milli,
			CPUMilli: median(a.cpuMilli), MemoryMiB: median(a.memoryMiB),
			Weight: int32(min(len(a.cpuMilli), math.MaxInt32))})
	}
	slices.SortFunc(out, func(a, b fragmentation.TypicalRequest) int {
		return cmp.Or(cmp.Compare(a.GPUs, b.GPUs), cmp.Compare(a.GPUMilli, b.GPUMilli))
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// median is the middle value (the lower of the two middle ones for an
// even count) of a non-empty list.
func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// gpuDemand is what a trace pod asks of GPUs: whole GPUs, or one share.
type gpuDemand struct {
	wholeGPUs  int
	shareMilli int64
}

// demandOf reads a trace pod's GPU request the way trace.Pod.GPUDemand
// does: a single GPU with less than 1000 milli-GPU is a share, anything
// else whole GPUs.
func demandOf(p trace.Pod) gpuDemand {
	switch {
	case p.NumGPU <= 0:
		return gpuDemand{}
	case p.NumGPU == 1 && p.GPUMilli > 0 && p.GPUMilli < 1000:
		return gpuDemand{shareMilli: p.GPUMilli}
	default:
		return gpuDemand{wholeGPUs: p.NumGPU}
	}
}
