package fragmentation

import (
	"fmt"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// GPUState is one GPU as Fragmentation sees it: which requests it can
// serve and how much of it is allocated.
type GPUState struct {
	// Whole says that requests for whole GPUs can take it while nothing
	// of it is allocated.
	Whole bool
	// Shares says that share requests can take part of its free
	// capacity.
	Shares bool
	// UsedMilli is the allocated part, 0 to 1000.
	UsedMilli int64
}

// Fragmentation returns a node's expected fragmentation, in milli-GPU,
// against workload (nil: DefaultTargetWorkload): the free GPU capacity
// that the typical requests, weighted, cannot use. It is the measure the
// plugin scores by, for callers outside the scheduler (a trace replay
// measuring a cluster's state). A GPU may serve both whole and share
// requests, as the GPUs of FGD's paper do; MIG requests count every free
// milli-GPU as fragmented, since no GPU here is in MIG mode.
func Fragmentation(gpus []GPUState, workload []TypicalRequest) (float64, error) {
	args := Args{TargetWorkload: workload}
	args.SetDefaults()
	if err := args.Validate(); err != nil {
		return 0, err
	}
	uses := make([]model.GPUUse, len(gpus))
	for i, g := range gpus {
		if g.UsedMilli < 0 || g.UsedMilli > 1000 {
			return 0, fmt.Errorf("GPU %d: used %d milli-GPU; it must be between 0 and 1000", i, g.UsedMilli)
		}
		uses[i] = model.GPUUse{UsedMilli: g.UsedMilli}
	}
	if len(gpus) == 0 {
		return 0, nil
	}
	free := make([]int64, len(gpus))
	var total int64
	for i := range gpus {
		free[i] = 1000 - uses[i].UsedMilli
		total += free[i]
	}
	var f float64
	for _, t := range tasks(args.TargetWorkload) {
		f += t.weight * float64(fragment(nodeFor(gpus, t), uses, free, total, t))
	}
	return f, nil
}

// nodeFor presents the GPUs to fragment for one typical request: a GPU
// that serves the request's kind gets that kind's mode, any other a mode
// the request cannot use.
func nodeFor(gpus []GPUState, t task) *model.Node {
	inv := &model.Inventory{GPUs: make([]model.GPU, len(gpus))}
	for i, g := range gpus {
		mode := model.KindOther
		switch {
		case t.gpus > 0 && g.Whole:
			mode = model.KindGPU
		case t.milli > 0 && g.Shares:
			mode = model.KindSharedGPU
		}
		inv.GPUs[i] = model.GPU{Mode: mode}
	}
	return &model.Node{Inventory: inv}
}
