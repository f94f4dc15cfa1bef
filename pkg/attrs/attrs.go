// Package attrs names every ResourceSlice attribute, capacity and DRA driver
// that hadron publishes, so that the drivers, the scheduler plugins and the
// documentation (docs/attributes.md) agree on one spelling.
package attrs

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
)

// DRA driver names. Each is also the domain of the driver's own attributes.
const (
	GPUDriver = "gpu.hadron.dev"
	CPUDriver = "cpu.hadron.dev"
	NICDriver = "nic.hadron.dev"
)

// Standard Kubernetes attributes, used wherever one exists so that
// cross-driver matchAttribute constraints work.
const (
	NUMANode = deviceattribute.StandardDeviceAttributeNUMANode
	PCIeRoot = deviceattribute.StandardDeviceAttributePCIeRoot
	PCIBusID = deviceattribute.StandardDeviceAttributePCIBusID
)

// GPU driver attributes, qualified with the driver's domain.
const (
	GPUType                  resourceapi.QualifiedName = GPUDriver + "/type"
	GPUUUID                  resourceapi.QualifiedName = GPUDriver + "/uuid"
	GPUIndex                 resourceapi.QualifiedName = GPUDriver + "/index"
	GPUProductName           resourceapi.QualifiedName = GPUDriver + "/productName"
	GPUBrand                 resourceapi.QualifiedName = GPUDriver + "/brand"
	GPUArchitecture          resourceapi.QualifiedName = GPUDriver + "/architecture"
	GPUCUDAComputeCapability resourceapi.QualifiedName = GPUDriver + "/cudaComputeCapability"
	GPUDriverVersion         resourceapi.QualifiedName = GPUDriver + "/driverVersion"
	GPUCUDADriverVersion     resourceapi.QualifiedName = GPUDriver + "/cudaDriverVersion"
	GPUIdlePowerWatts        resourceapi.QualifiedName = GPUDriver + "/idlePowerWatts"
	GPUMaxPowerWatts         resourceapi.QualifiedName = GPUDriver + "/maxPowerWatts"
	// MIG partitions and their parent GPU.
	GPUParentUUID        resourceapi.QualifiedName = GPUDriver + "/parentUUID"
	GPUMIGProfile        resourceapi.QualifiedName = GPUDriver + "/migProfile"
	GPUMIGPlacementStart resourceapi.QualifiedName = GPUDriver + "/migPlacementStart"
	GPUMIGPlacementSize  resourceapi.QualifiedName = GPUDriver + "/migPlacementSize"
	GPUMIGComputeSlices  resourceapi.QualifiedName = GPUDriver + "/migComputeSlices"
)

// GPU driver capacities.
const (
	GPUMemory resourceapi.QualifiedName = GPUDriver + "/memory"
	// GPUCompute is a shared GPU's compute in milli-GPU (1000 = whole GPU).
	GPUCompute resourceapi.QualifiedName = GPUDriver + "/compute"
)

// Values of GPUType.
const (
	GPUTypeWhole  = "gpu"
	GPUTypeMIG    = "mig"
	GPUTypeShared = "shared"
)

// GPUUnhealthyTaint is the device taint key of a GPU that reported a
// critical error; its value names the error (e.g. XID-79).
const GPUUnhealthyTaint = GPUDriver + "/unhealthy"
