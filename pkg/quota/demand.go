package quota

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// The DeviceClasses hadron ships (deploy/deviceclasses) whose requests
// Demand can bound.
const (
	wholeGPUClass  = "gpu.hadron.dev"
	sharedGPUClass = "shared.gpu.hadron.dev"
	cpuClass       = "cpu.hadron.dev"
	nicClass       = "nic.hadron.dev"
)

// Demand is a lower bound of what allocating a claim with this spec will
// cost, known before any device is picked: exact for ExactCount requests
// of whole GPUs and NICs, the requested capacity for CPUs and GPU shares
// (the allocator may round up, never down), the cheapest alternative of
// a prioritized list, and nothing for what depends on the device chosen
// (MIG partitions, memory of whole GPUs), for allocation mode All, for
// admin access and for other DeviceClasses.
func Demand(spec *resourceapi.ResourceClaimSpec) List {
	total := List{}
	for i := range spec.Devices.Requests {
		req := &spec.Devices.Requests[i]
		switch {
		case req.Exactly != nil:
			total.Add(exactDemand(req.Exactly))
		case len(req.FirstAvailable) > 0:
			var cheapest List
			for j := range req.FirstAvailable {
				sub := &req.FirstAvailable[j]
				d := subDemand(sub.DeviceClassName, sub.AllocationMode, sub.Count, sub.Capacity)
				cheapest = lowest(cheapest, d, j == 0)
			}
			total.Add(cheapest)
		}
	}
	return total
}

func exactDemand(r *resourceapi.ExactDeviceRequest) List {
	if ptr.Deref(r.AdminAccess, false) {
		return nil
	}
	return subDemand(r.DeviceClassName, r.AllocationMode, r.Count, r.Capacity)
}

func subDemand(class string, mode resourceapi.DeviceAllocationMode, count int64, capacity *resourceapi.CapacityRequirements) List {
	n := count
	switch mode {
	case resourceapi.DeviceAllocationModeExactCount, "":
		if n <= 0 {
			n = 1
		}
	default:
		// All: as many as match, possibly none known yet.
		return nil
	}
	requested := func(name resourceapi.QualifiedName) int64 {
		if capacity == nil {
			return 0
		}
		q, ok := capacity.Requests[name]
		if !ok || q.Sign() <= 0 {
			return 0
		}
		return q.Value()
	}
	switch class {
	case wholeGPUClass:
		return List{GPUs: n, GPUMilli: 1000 * n}
	case sharedGPUClass:
		return List{GPUMilli: n * requested(attrs.GPUCompute), GPUMemory: n * requested(attrs.GPUMemory)}
	case cpuClass:
		return List{CPUs: n * requested(attrs.CPUs)}
	case nicClass:
		return List{NICs: n}
	}
	return nil
}

// lowest is the per-resource minimum of acc and d, where acc starts as d.
func lowest(acc, d List, first bool) List {
	if first {
		return d.Clone()
	}
	out := List{}
	for r, v := range acc {
		out[r] = min(v, d[r])
	}
	return out
}
