package driver

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/resourceslice"
)

// SplitSlices packs devices into as few ResourceSlices as the API allows
// (resourceapi.ResourceSliceMaxDevices each), keeping their order.
func SplitSlices(devices []resourceapi.Device) []resourceslice.Slice {
	var slices []resourceslice.Slice
	for len(devices) > 0 {
		n := min(len(devices), resourceapi.ResourceSliceMaxDevices)
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
