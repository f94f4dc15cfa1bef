package gpu

import (
	"fmt"
	"strconv"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// DeviceName is the stable DRA device name of a whole GPU. It derives from
// the GPU's UUID, never from enumeration order, so that it survives
// reboots, driver restarts and GPUs failing to enumerate.
func DeviceName(uuid string) string {
	return "gpu-" + strings.TrimPrefix(strings.ToLower(uuid), "gpu-")
}

// wholeDevice is the ResourceSlice device for one whole GPU.
func wholeDevice(host *Host, g GPU) resourceapi.Device {
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.GPUType:                  {StringValue: ptr.To(attrs.GPUTypeWhole)},
		attrs.GPUUUID:                  {StringValue: ptr.To(g.UUID)},
		attrs.GPUIndex:                 {IntValue: ptr.To(int64(g.Index))},
		attrs.GPUProductName:           {StringValue: ptr.To(g.ProductName)},
		attrs.GPUArchitecture:          {StringValue: ptr.To(g.Architecture)},
		attrs.GPUCUDAComputeCapability: {VersionValue: ptr.To(semver(g.ComputeCapability))},
		attrs.GPUDriverVersion:         {VersionValue: ptr.To(semver(host.DriverVersion))},
		attrs.GPUCUDADriverVersion:     {VersionValue: ptr.To(semver(host.CUDADriverVersion))},
		attrs.GPUIdlePowerWatts:        {IntValue: ptr.To(int64(g.IdlePowerWatts))},
		attrs.GPUMaxPowerWatts:         {IntValue: ptr.To(int64(g.MaxPowerWatts))},
		attrs.PCIBusID:                 {StringValue: ptr.To(g.PCIBusID)},
	}
	if g.Brand != "" {
		a[attrs.GPUBrand] = resourceapi.DeviceAttribute{StringValue: ptr.To(g.Brand)}
	}
	if g.PCIeRoot != "" {
		a[attrs.PCIeRoot] = resourceapi.DeviceAttribute{StringValue: ptr.To(g.PCIeRoot)}
	}
	if g.NUMANode != nil {
		a[attrs.NUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(*g.NUMANode))}
	}
	return resourceapi.Device{
		Name:       DeviceName(g.UUID),
		Attributes: a,
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
			attrs.GPUMemory: {Value: *resource.NewQuantity(int64(g.MemoryBytes), resource.BinarySI)},
		},
	}
}

// semver turns NVIDIA's dotted versions ("535.104.05", "12.4", "9.0") into
// the semantic versions DRA's version attributes require ("535.104.5",
// "12.4.0", "9.0.0"): leading zeros dropped, missing parts zero.
func semver(v string) string {
	parts := strings.Split(strings.TrimSpace(v), ".")
	out := make([]string, 3)
	for i := range out {
		out[i] = "0"
		if i < len(parts) {
			if n, err := strconv.ParseUint(parts[i], 10, 64); err == nil {
				out[i] = strconv.FormatUint(n, 10)
			}
		}
	}
	return fmt.Sprintf("%s.%s.%s", out[0], out[1], out[2])
}
