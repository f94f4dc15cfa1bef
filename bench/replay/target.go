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
// arrivals ask for it. CPU-only pods are left out: they use no GPU
// capacity, fragmented or not. Nil when no arrival asks for a GPU.
func TargetWorkload(w *trace.Workload) []fragmentation.TypicalRequest {
	type key struct{ gpus, milli int32 }
	counts := map[key]int64{}
	for _, ev := range w.Events {
		if ev.Kind != trace.Arrival {
			continue
		}
		switch d := demandOf(ev.Pod); {
		case d.wholeGPUs > 0:
			counts[key{gpus: int32(min(d.wholeGPUs, math.MaxInt32))}]++
		case d.shareMilli > 0:
			counts[key{milli: int32(d.shareMilli)}]++
		}
	}
	out := make([]fragmentation.TypicalRequest, 0, len(counts))
	for k, n := range counts {
		out = append(out, fragmentation.TypicalRequest{GPUs: k.gpus, GPUMilli: k.milli, Weight: int32(min(n, math.MaxInt32))})
	}
	slices.SortFunc(out, func(a, b fragmentation.TypicalRequest) int {
		return cmp.Or(cmp.Compare(a.GPUs, b.GPUs), cmp.Compare(a.GPUMilli, b.GPUMilli))
	})
	if len(out) == 0 {
		return nil
	}
	return out
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
