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

// NIC driver attributes, qualified with the driver's domain. Only
// RDMA-capable adapters are published; the standard NUMANode, PCIeRoot and
// PCIBusID attributes place them relative to GPUs and CPUs.
const (
	// NICInterface is the network interface (netdev) name, e.g. ens1f0np0
	// or ib0; absent when the function has none.
	NICInterface resourceapi.QualifiedName = NICDriver + "/interface"
	// NICRDMADevice is the RDMA device name, e.g. mlx5_0.
	NICRDMADevice resourceapi.QualifiedName = NICDriver + "/rdmaDevice"
	// NICLinkLayer is how the RDMA port talks to the network: one of the
	// NICLinkLayer values (RoCE adapters are Ethernet); absent when unknown.
	NICLinkLayer resourceapi.QualifiedName = NICDriver + "/linkLayer"
	// NICSpeedGbps is the link rate in Gb/s; absent when unknown or down.
	NICSpeedGbps resourceapi.QualifiedName = NICDriver + "/speedGbps"
	// NICVendor and NICModel are the PCI vendor and product names, or their
	// hexadecimal ids ("0x15b3") when the PCI database does not know them.
	NICVendor resourceapi.QualifiedName = NICDriver + "/vendor"
	NICModel  resourceapi.QualifiedName = NICDriver + "/model"
	// NICRDMA is true on every published NIC, so that selectors can ask for
	// RDMA explicitly rather than rely on which adapters are published.
	NICRDMA resourceapi.QualifiedName = NICDriver + "/rdma"
)

// NIC driver capacities.
const (
	// NICBandwidth is the link bandwidth in bits per second ("400G"). On
	// NICs shared by bandwidth it is consumable: each allocation takes part
	// of it, within the published request policy.
	NICBandwidth resourceapi.QualifiedName = NICDriver + "/bandwidth"
)

// Values of NICLinkLayer.
const (
	NICLinkLayerInfiniBand = "InfiniBand"
	NICLinkLayerEthernet   = "Ethernet"
)
