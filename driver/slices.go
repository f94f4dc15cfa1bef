package driver

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/resourceslice"
)

// SplitSlices packs devices into as few ResourceSlices as the API allows,
// keeping their order: 128 devices per slice, or 64 when any device uses
// counters, multiple allocations or taints.
func SplitSlices(devices []resourceapi.Device) []resourceslice.Slice {
	limit := resourceapi.ResourceSliceMaxDevices
	for _, d := range devices {
		if len(d.ConsumesCounters) > 0 || (d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations) || len(d.Taints) > 0 {
			limit = resourceapi.ResourceSliceMaxDevicesWithAdvancedFeatures
			break
		}
	}
	var slices []resourceslice.Slice
	for len(devices) > 0 {
		n := min(len(devices), limit)
		slices = append(slices, resourceslice.Slice{Devices: devices[:n]})
		devices = devices[n:]
	}
	if slices == nil {
		// An empty pool is still published, so that the scheduler knows
		// the node has no devices of this family rather than waiting.
		slices = []resourceslice.Slice{{}}
	}
	return slices
}

// CounterSlices packs counter sets into slices of their own (a slice holds
// counters or devices, never both), at most
// resourceapi.ResourceSliceMaxCounterSets per slice.
func CounterSlices(sets []resourceapi.CounterSet) []resourceslice.Slice {
	var slices []resourceslice.Slice
	for len(sets) > 0 {
		n := min(len(sets), resourceapi.ResourceSliceMaxCounterSets)
		slices = append(slices, resourceslice.Slice{SharedCounters: sets[:n]})
		sets = sets[n:]
	}
	return slices
}
