package fragmentation

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Args are the plugin's arguments.
type Args struct {
	// TargetWorkload is the expected mix of GPU requests that
	// fragmentation is measured against. Default: DefaultTargetWorkload.
	TargetWorkload []TypicalRequest `json:"targetWorkload,omitempty"`
}

// TypicalRequest is one kind of GPU request and how common it is. Exactly
// one of GPUs, GPUMilli and MIGComputeSlices is set.
type TypicalRequest struct {
	// GPUs is a number of whole GPUs.
	GPUs int32 `json:"gpus,omitempty"`
	// GPUMilli is a share of one shared GPU, in milli-GPU (1-999).
	GPUMilli int32 `json:"gpuMilli,omitempty"`
	// MIGComputeSlices is a MIG partition with that many compute slices
	// (1g = 1, 2g = 2, 3g = 3, 4g = 4, 7g = 7 on A100/H100).
	MIGComputeSlices int32 `json:"migComputeSlices,omitempty"`
	// CPUMilli and MemoryMiB are what the request also asks of its node
	// (0: not considered). As in the paper, a node whose free CPU or
	// memory cannot take the request leaves all its free GPU capacity
	// unusable for it: GPUs stranded beside a full CPU are fragments.
	CPUMilli  int64 `json:"cpuMilli,omitempty"`
	MemoryMiB int64 `json:"memoryMiB,omitempty"`
	// Weight is the request's relative frequency (> 0).
	Weight int32 `json:"weight"`
}

// DefaultTargetWorkload is the GPU request mix of the Alibaba openb
// default trace that FGD was evaluated on (GPU pods only: 55% one whole
// GPU, 44% shares, whose sizes are rounded here to 250, 500 and 800
// milli-GPU), with multi-GPU requests weighted above their 1% of pods
// because each takes several GPUs, plus small-profile MIG partitions
// (that trace has no MIG; MIG nodes serve mostly 1g-3g slices).
var DefaultTargetWorkload = []TypicalRequest{
	{GPUs: 1, Weight: 50},
	{GPUs: 2, Weight: 2},
	{GPUs: 4, Weight: 2},
	{GPUs: 8, Weight: 1},
	{GPUMilli: 250, Weight: 5},
	{GPUMilli: 500, Weight: 18},
	{GPUMilli: 800, Weight: 16},
	{MIGComputeSlices: 1, Weight: 3},
	{MIGComputeSlices: 2, Weight: 2},
	{MIGComputeSlices: 3, Weight: 1},
}

// SetDefaults fills unset arguments.
func (a *Args) SetDefaults() {
	if len(a.TargetWorkload) == 0 {
		a.TargetWorkload = append([]TypicalRequest(nil), DefaultTargetWorkload...)
	}
}

// Limits of TypicalRequest's fields.
const (
	maxGPUs          = 64
	maxComputeSlices = 8
)

// Validate checks defaulted arguments.
func (a *Args) Validate() error {
	for i, r := range a.TargetWorkload {
		field := fmt.Sprintf("%s args: targetWorkload[%d]", Name, i)
		set := 0
		for _, v := range []int32{r.GPUs, r.GPUMilli, r.MIGComputeSlices} {
			if v != 0 {
				set++
			}
		}
		switch {
		case set != 1:
			return fmt.Errorf("%s: set exactly one of gpus, gpuMilli and migComputeSlices", field)
		case r.GPUs < 0 || r.GPUs > maxGPUs:
			return fmt.Errorf("%s.gpus is %d; it must be between 1 and %d", field, r.GPUs, maxGPUs)
		case r.GPUMilli < 0 || r.GPUMilli >= 1000:
			return fmt.Errorf("%s.gpuMilli is %d; it must be between 1 and 999 (use gpus: 1 for a whole GPU)", field, r.GPUMilli)
		case r.MIGComputeSlices < 0 || r.MIGComputeSlices > maxComputeSlices:
			return fmt.Errorf("%s.migComputeSlices is %d; it must be between 1 and %d", field, r.MIGComputeSlices, maxComputeSlices)
		case r.CPUMilli < 0 || r.MemoryMiB < 0:
			return fmt.Errorf("%s: cpuMilli (%d) and memoryMiB (%d) must not be negative", field, r.CPUMilli, r.MemoryMiB)
		case r.Weight <= 0:
			return fmt.Errorf("%s.weight is %d; it must be positive", field, r.Weight)
		}
	}
	return nil
}

// decodeArgs reads, defaults and validates the arguments of an out-of-tree
// plugin (a runtime.Unknown holding YAML or JSON, or nil).
func decodeArgs(obj runtime.Object) (*Args, error) {
	return scoring.DecodeArgs[Args](Name, obj)
}
