package quota

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Pools looks up the ResourceSlices of one pool of a driver; the pricing
// reads the allocated devices' attributes and capacities from them.
type Pools interface {
	PoolSlices(driver, pool string) []*resourceapi.ResourceSlice
}

// defaultMIGComputeSlices is the compute slices of a MIG-capable GPU when
// its pool does not show them (A100, H100, H200 and B200 all have 7).
const defaultMIGComputeSlices = 7

// Price is what an allocation costs:
//
//   - a whole GPU: 1 gpus, its memory, 1000 gpu-milli;
//   - a MIG partition: 1 mig-<profile>, its memory, and gpu-milli in
//     proportion to its compute slices out of the GPU's (the largest
//     profile offered on the same GPU), rounded down: 1g of 7 slices is
//     142, so seven of them never cost more than the GPU;
//   - a share of a shared GPU: the gpu.hadron.dev/compute (milli) and
//     gpu.hadron.dev/memory it consumes;
//   - CPUs: the cpu.hadron.dev/cpus consumed;
//   - a NIC: 1 nics, whatever bandwidth it shares.
//
// Admin-access results cost nothing, nor do other drivers' devices.
//
// complete is false when a device could not be found in its pool (its
// slice was not seen yet or is gone); it is then priced from what the
// allocation itself records, erring high: a GPU of unknown kind counts
// as a whole GPU (whose memory is unknown), unknown CPUs as the amount
// consumed or else one.
func Price(alloc *resourceapi.AllocationResult, pools Pools) (cost List, complete bool) {
	complete = true
	if alloc == nil {
		return nil, true
	}
	cost = List{}
	for i := range alloc.Devices.Results {
		r := &alloc.Devices.Results[i]
		if ptr.Deref(r.AdminAccess, false) {
			continue
		}
		switch r.Driver {
		case attrs.GPUDriver:
			if !priceGPU(cost, r, pools) {
				complete = false
			}
		case attrs.CPUDriver:
			if !priceCPU(cost, r, pools) {
				complete = false
			}
		case attrs.NICDriver:
			cost[NICs]++
		}
	}
	return cost, complete
}

func priceGPU(cost List, r *resourceapi.DeviceRequestAllocationResult, pools Pools) bool {
	slices := pools.PoolSlices(r.Driver, r.Pool)
	dev := findDevice(slices, r.Device)
	kind := ""
	if dev != nil {
		kind = stringAttr(dev, attrs.GPUType)
	}
	switch kind {
	case attrs.GPUTypeWhole:
		cost[GPUs]++
		cost[GPUMilli] += 1000
		cost[GPUMemory] += capacity(dev, attrs.GPUMemory)
	case attrs.GPUTypeMIG:
		cost[MIG(stringAttr(dev, attrs.GPUMIGProfile))]++
		cost[GPUMemory] += capacity(dev, attrs.GPUMemory)
		total := migComputeSlices(slices, stringAttr(dev, attrs.GPUParentUUID))
		cost[GPUMilli] += 1000 * min(intAttr(dev, attrs.GPUMIGComputeSlices), total) / total
	case attrs.GPUTypeShared:
		milli, ok := consumed(r, attrs.GPUCompute)
		if !ok {
			milli = 1000
		}
		mem, ok := consumed(r, attrs.GPUMemory)
		if !ok {
			mem = capacity(dev, attrs.GPUMemory)
		}
		cost[GPUMilli] += milli
		cost[GPUMemory] += mem
	default:
		// Not found, or a kind this version does not know.
		if milli, ok := consumed(r, attrs.GPUCompute); ok {
			mem, _ := consumed(r, attrs.GPUMemory)
			cost[GPUMilli] += milli
			cost[GPUMemory] += mem
		} else {
			cost[GPUs]++
			cost[GPUMilli] += 1000
		}
		return false
	}
	return true
}

func priceCPU(cost List, r *resourceapi.DeviceRequestAllocationResult, pools Pools) bool {
	if n, ok := consumed(r, attrs.CPUs); ok {
		cost[CPUs] += n
		return true
	}
	// Not consumable: the device is allocated whole.
	dev := findDevice(pools.PoolSlices(r.Driver, r.Pool), r.Device)
	if dev == nil {
		cost[CPUs]++
		return false
	}
	cost[CPUs] += max(capacity(dev, attrs.CPUs), 1)
	return true
}

// migComputeSlices is the compute slices of the GPU parentUUID: those of
// the largest MIG profile offered on it, which spans the whole GPU.
func migComputeSlices(slices []*resourceapi.ResourceSlice, parentUUID string) int64 {
	var most int64
	for _, s := range slices {
		for i := range s.Spec.Devices {
			d := &s.Spec.Devices[i]
			if stringAttr(d, attrs.GPUType) == attrs.GPUTypeMIG && stringAttr(d, attrs.GPUParentUUID) == parentUUID {
				most = max(most, intAttr(d, attrs.GPUMIGComputeSlices))
			}
		}
	}
	if most <= 0 {
		return defaultMIGComputeSlices
	}
	return most
}

func findDevice(slices []*resourceapi.ResourceSlice, name string) *resourceapi.Device {
	for _, s := range slices {
		for i := range s.Spec.Devices {
			if s.Spec.Devices[i].Name == name {
				return &s.Spec.Devices[i]
			}
		}
	}
	return nil
}

func stringAttr(d *resourceapi.Device, name resourceapi.QualifiedName) string {
	return ptr.Deref(d.Attributes[name].StringValue, "")
}

func intAttr(d *resourceapi.Device, name resourceapi.QualifiedName) int64 {
	return ptr.Deref(d.Attributes[name].IntValue, 0)
}

func capacity(d *resourceapi.Device, name resourceapi.QualifiedName) int64 {
	if d == nil {
		return 0
	}
	c, ok := d.Capacity[name]
	if !ok {
		return 0
	}
	return c.Value.Value()
}

func consumed(r *resourceapi.DeviceRequestAllocationResult, name resourceapi.QualifiedName) (int64, bool) {
	q, ok := r.ConsumedCapacity[name]
	if !ok {
		return 0, false
	}
	return q.Value(), true
}
