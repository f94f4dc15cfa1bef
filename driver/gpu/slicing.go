package gpu

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// migCounterSet is the shared counter set of a GPU in MIG mode: one counter
// per memory slice (a placement occupies a contiguous range of them) and
// the compute slices. A MIG device consumes the slices of its placement,
// so two devices whose placements overlap cannot both be allocated — the
// same rule the hardware applies.
func migCounterSet(g GPU, layout *migLayout) resourceapi.CounterSet {
	counters := map[string]resourceapi.Counter{
		computeSlicesCounter: {Value: *resource.NewQuantity(int64(layout.ComputeSlices), resource.DecimalSI)},
	}
	for i := 0; i < layout.MemorySlices; i++ {
		counters[memorySliceCounter(i)] = resourceapi.Counter{Value: *resource.NewQuantity(1, resource.DecimalSI)}
	}
	return resourceapi.CounterSet{Name: DeviceName(g.UUID), Counters: counters}
}

// consumption is what a placement of computeSlices takes from the set.
func consumption(g GPU, start, size uint32, computeSlices int) []resourceapi.DeviceCounterConsumption {
	counters := map[string]resourceapi.Counter{
		computeSlicesCounter: {Value: *resource.NewQuantity(int64(computeSlices), resource.DecimalSI)},
	}
	for i := start; i < start+size; i++ {
		counters[memorySliceCounter(int(i))] = resourceapi.Counter{Value: *resource.NewQuantity(1, resource.DecimalSI)}
	}
	return []resourceapi.DeviceCounterConsumption{{CounterSet: DeviceName(g.UUID), Counters: counters}}
}

// migDevices returns the whole-GPU device (consuming every counter) and one
// device per (profile, placement) of a GPU in MIG mode.
func migDevices(host *Host, g GPU, layout *migLayout) []resourceapi.Device {
	whole := wholeDevice(host, g)
	whole.ConsumesCounters = consumption(g, 0, uint32(layout.MemorySlices), layout.ComputeSlices)
	devices := []resourceapi.Device{whole}
	for _, p := range layout.Profiles {
		for _, pl := range p.Placements {
			d := wholeDevice(host, g)
			d.Name = MIGDeviceName(g.UUID, p, pl.Start)
			d.Attributes[attrs.GPUType] = resourceapi.DeviceAttribute{StringValue: ptr.To(attrs.GPUTypeMIG)}
			d.Attributes[attrs.GPUParentUUID] = resourceapi.DeviceAttribute{StringValue: ptr.To(g.UUID)}
			d.Attributes[attrs.GPUMIGProfile] = resourceapi.DeviceAttribute{StringValue: ptr.To(p.Name)}
			d.Attributes[attrs.GPUMIGPlacementStart] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(pl.Start))}
			d.Attributes[attrs.GPUMIGPlacementSize] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(pl.Size))}
			// A partition's share of the board's power, by compute slices:
			// what waking it adds is the GPU's, the scheduler decides.
			d.Attributes[attrs.GPUMIGComputeSlices] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(p.SliceCount))}
			delete(d.Attributes, attrs.GPUUUID)
			d.Capacity = map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				attrs.GPUMemory: {Value: *resource.NewQuantity(int64(p.MemoryBytes), resource.BinarySI)},
			}
			d.ConsumesCounters = consumption(g, pl.Start, pl.Size, p.SliceCount)
			devices = append(devices, d)
		}
	}
	return devices
}

// sharedDevice is a GPU in shared mode: one device that many claims can
// be allocated from, each consuming part of its compute (milli-GPU, 1000 =
// the whole GPU) and memory, within the admin's request policy.
func sharedDevice(host *Host, g GPU, s config.SharedDefaults) resourceapi.Device {
	d := wholeDevice(host, g)
	d.Attributes[attrs.GPUType] = resourceapi.DeviceAttribute{StringValue: ptr.To(attrs.GPUTypeShared)}
	d.AllowMultipleAllocations = ptr.To(true)
	memory := int64(g.MemoryBytes)
	memStep := s.MemoryStep.Value()
	// A claim that only asks for compute gets memory in proportion.
	defaultMemory := memory * s.DefaultMilli / 1000 / memStep * memStep
	d.Capacity = map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
		attrs.GPUCompute: {
			Value: *resource.NewQuantity(1000, resource.DecimalSI),
			RequestPolicy: &resourceapi.CapacityRequestPolicy{
				Default: resource.NewQuantity(s.DefaultMilli, resource.DecimalSI),
				ValidRange: &resourceapi.CapacityRequestPolicyRange{
					Min:  resource.NewQuantity(s.MinMilli, resource.DecimalSI),
					Max:  resource.NewQuantity(1000, resource.DecimalSI),
					Step: resource.NewQuantity(s.MilliStep, resource.DecimalSI),
				},
			},
		},
		attrs.GPUMemory: {
			Value: *resource.NewQuantity(memory, resource.BinarySI),
			RequestPolicy: &resourceapi.CapacityRequestPolicy{
				Default: resource.NewQuantity(max(defaultMemory, s.MinMemory.Value()), resource.BinarySI),
				ValidRange: &resourceapi.CapacityRequestPolicyRange{
					Min:  s.MinMemory,
					Step: s.MemoryStep,
				},
			},
		},
	}
	return d
}
