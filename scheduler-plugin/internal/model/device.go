package model

import (
	"strconv"
	"strings"

	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Kind is what a hadron device is to the model.
type Kind uint8

// Device kinds. A GPU in MIG mode is published as one whole-GPU device
// (KindMIGWhole, consuming every counter of the GPU) plus one device per
// profile and placement (KindMIG).
const (
	KindOther Kind = iota
	KindGPU
	KindMIGWhole
	KindMIG
	KindSharedGPU
	KindCPU
	KindNIC
)

// IsGPU says whether the device is (part of) a GPU.
func (k Kind) IsGPU() bool { return k >= KindGPU && k <= KindSharedGPU }

func (k Kind) String() string {
	switch k {
	case KindGPU:
		return "gpu"
	case KindMIGWhole:
		return "mig-whole"
	case KindMIG:
		return "mig"
	case KindSharedGPU:
		return "shared-gpu"
	case KindCPU:
		return "cpu"
	case KindNIC:
		return "nic"
	default:
		return "other"
	}
}

// NoNUMA is the NUMA node of a device that publishes none.
const NoNUMA = -1

// IsHadronDriver says whether slices of the driver are modelled and
// reordered.
func IsHadronDriver(driver string) bool {
	return driver == attrs.GPUDriver || driver == attrs.CPUDriver || driver == attrs.NICDriver
}

// Device is one hadron device of a node.
type Device struct {
	Driver, Pool, Name string
	Kind               Kind
	// NUMA is the device's NUMA node, NoNUMA when unknown.
	NUMA     int
	PCIeRoot string
	// GPU indexes Node.GPUs for GPU devices, -1 otherwise.
	GPU int
	// Socket is a CPU device's package, -1 when unknown.
	Socket int
	// MIG placement: first memory slice, memory slices, compute slices.
	MIGStart, MIGSize, MIGCompute int
	// Shared is set for devices that many claims can be allocated from,
	// each consuming part of their capacity.
	Shared bool
	// IdleWatts and MaxWatts are a GPU board's idle and maximum power or a
	// CPU device's package idle and maximum power; 0 when unpublished.
	IdleWatts, MaxWatts float64
	// Tainted is set when the device has a NoSchedule or NoExecute taint
	// (an unhealthy GPU, say): only pods that tolerate it may get it, so
	// the model neither prefers nor expects it.
	Tainted bool
	// Raw is the published device (read-only: it is the informer's).
	Raw *resourceapi.Device
}

// primaryCapacity names the capacity that sizes a shared device's
// allocations, by kind.
func (d *Device) primaryCapacity() resourceapi.QualifiedName {
	switch d.Kind {
	case KindSharedGPU:
		return attrs.GPUCompute
	case KindCPU:
		return attrs.CPUs
	case KindNIC:
		return attrs.NICBandwidth
	}
	return ""
}

// CapacityOf returns the device's total of a capacity in its base unit
// (milli-GPU, CPUs, bytes, bits/s), 0 when it has none.
func (d *Device) CapacityOf(name resourceapi.QualifiedName) int64 {
	c, ok := lookupCapacity(d.Driver, d.Raw, name)
	if !ok {
		return 0
	}
	return c.Value.Value()
}

// newDevice classifies a published device of driver.
func newDevice(driver, pool string, raw *resourceapi.Device) Device {
	d := Device{Driver: driver, Pool: pool, Name: raw.Name, Raw: raw, NUMA: NoNUMA, GPU: -1, Socket: -1}
	d.Shared = raw.AllowMultipleAllocations != nil && *raw.AllowMultipleAllocations
	for _, t := range raw.Taints {
		if t.Effect == resourceapi.DeviceTaintEffectNoSchedule || t.Effect == resourceapi.DeviceTaintEffectNoExecute {
			d.Tainted = true
		}
	}
	if n, ok := intAttr(driver, raw, attrs.NUMANode); ok {
		d.NUMA = int(n)
	}
	d.PCIeRoot, _ = stringAttr(driver, raw, attrs.PCIeRoot)
	switch driver {
	case attrs.GPUDriver:
		t, _ := stringAttr(driver, raw, resourceapi.FullyQualifiedName(attrs.GPUType))
		switch {
		case t == attrs.GPUTypeMIG:
			d.Kind = KindMIG
			d.MIGStart = int(intAttrOr(driver, raw, attrs.GPUMIGPlacementStart, 0))
			d.MIGSize = int(intAttrOr(driver, raw, attrs.GPUMIGPlacementSize, 0))
			d.MIGCompute = int(intAttrOr(driver, raw, attrs.GPUMIGComputeSlices, 0))
		case t == attrs.GPUTypeShared || (t == attrs.GPUTypeWhole && d.Shared):
			d.Kind = KindSharedGPU
		case t == attrs.GPUTypeWhole && len(raw.ConsumesCounters) > 0:
			d.Kind = KindMIGWhole
		case t == attrs.GPUTypeWhole:
			d.Kind = KindGPU
		}
		d.IdleWatts = float64(intAttrOr(driver, raw, attrs.GPUIdlePowerWatts, 0))
		d.MaxWatts = float64(intAttrOr(driver, raw, attrs.GPUMaxPowerWatts, 0))
	case attrs.CPUDriver:
		d.Kind = KindCPU
		d.Socket = int(intAttrOr(driver, raw, attrs.CPUSocket, -1))
		d.IdleWatts = float64(intAttrOr(driver, raw, attrs.CPUPackageIdleWatts, 0))
		d.MaxWatts = float64(intAttrOr(driver, raw, attrs.CPUPackageMaxWatts, 0))
	case attrs.NICDriver:
		d.Kind = KindNIC
	}
	return d
}

// gpuKey names the physical GPU a GPU device belongs to: its UUID, or its
// parent's for a MIG partition, else the counter set it consumes from.
func gpuKey(d *Device) string {
	if d.Kind == KindMIG {
		if p, ok := stringAttr(d.Driver, d.Raw, resourceapi.FullyQualifiedName(attrs.GPUParentUUID)); ok {
			return p
		}
	} else if u, ok := stringAttr(d.Driver, d.Raw, resourceapi.FullyQualifiedName(attrs.GPUUUID)); ok {
		return u
	}
	if len(d.Raw.ConsumesCounters) > 0 {
		return "counters:" + d.Raw.ConsumesCounters[0].CounterSet
	}
	return "device:" + d.Name
}

// lookupQualified finds name in a device's attributes, capacities or a
// request's capacities: a driver may publish, and a claim may name, the
// driver's own entries with or without the driver's domain, and the
// allocator accepts both.
func lookupQualified[V any, N ~string](m map[resourceapi.QualifiedName]V, driver string, name N) (V, bool) {
	if v, ok := m[resourceapi.QualifiedName(name)]; ok {
		return v, true
	}
	other := resourceapi.QualifiedName(driver + "/" + string(name))
	if domain, id, ok := strings.Cut(string(name), "/"); ok {
		if domain != driver {
			var zero V
			return zero, false
		}
		other = resourceapi.QualifiedName(id)
	}
	v, ok := m[other]
	return v, ok
}

// lookupAttribute finds an attribute by its fully qualified name.
func lookupAttribute(driver string, d *resourceapi.Device, name resourceapi.FullyQualifiedName) (resourceapi.DeviceAttribute, bool) {
	return lookupQualified(d.Attributes, driver, name)
}

// lookupCapacity finds a capacity by name, qualified or not.
func lookupCapacity(driver string, d *resourceapi.Device, name resourceapi.QualifiedName) (resourceapi.DeviceCapacity, bool) {
	return lookupQualified(d.Capacity, driver, name)
}

func intAttr[N ~string](driver string, d *resourceapi.Device, name N) (int64, bool) {
	a, ok := lookupAttribute(driver, d, resourceapi.FullyQualifiedName(name))
	if !ok || a.IntValue == nil {
		return 0, false
	}
	return *a.IntValue, true
}

func intAttrOr[N ~string](driver string, d *resourceapi.Device, name N, def int64) int64 {
	if v, ok := intAttr(driver, d, name); ok {
		return v
	}
	return def
}

func stringAttr[N ~string](driver string, d *resourceapi.Device, name N) (string, bool) {
	a, ok := lookupAttribute(driver, d, resourceapi.FullyQualifiedName(name))
	if !ok || a.StringValue == nil {
		return "", false
	}
	return *a.StringValue, true
}

// AttributeValue returns the device's value of an attribute as a
// comparable string ("i:3", "s:pci0000:15"), or false when absent, for
// grouping devices by a matchAttribute constraint.
func (d *Device) AttributeValue(name resourceapi.FullyQualifiedName) (string, bool) {
	a, ok := lookupAttribute(d.Driver, d.Raw, name)
	if !ok {
		return "", false
	}
	switch {
	case a.IntValue != nil:
		return "i:" + strconv.FormatInt(*a.IntValue, 10), true
	case a.StringValue != nil:
		return "s:" + *a.StringValue, true
	case a.BoolValue != nil:
		if *a.BoolValue {
			return "b:true", true
		}
		return "b:false", true
	case a.VersionValue != nil:
		return "v:" + *a.VersionValue, true
	}
	return "", false
}
