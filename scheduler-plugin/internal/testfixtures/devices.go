// Package testfixtures builds hand-made hadron ResourceSlices, allocated
// state and claims for the scheduler plugins' tests, shaped like what the
// drivers publish (driver/gpu, driver/cpu, driver/nic).
package testfixtures

import (
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// GPU describes one GPU of a test node.
type GPU struct {
	UUID      string
	NUMA      int
	PCIeRoot  string
	Idle, Max int64
}

// DeviceName is the GPU's whole-device name, as driver/gpu names it.
func (g GPU) DeviceName() string { return "gpu-" + g.UUID }

func (g GPU) attributes(kind string) map[resourceapi.QualifiedName]resourceapi.DeviceAttribute {
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.GPUType:           {StringValue: ptr.To(kind)},
		attrs.GPUUUID:           {StringValue: ptr.To(g.UUID)},
		attrs.GPUIdlePowerWatts: {IntValue: ptr.To(g.Idle)},
		attrs.GPUMaxPowerWatts:  {IntValue: ptr.To(g.Max)},
		attrs.NUMANode:          {IntValue: ptr.To(int64(g.NUMA))},
	}
	if g.PCIeRoot != "" {
		a[attrs.PCIeRoot] = resourceapi.DeviceAttribute{StringValue: ptr.To(g.PCIeRoot)}
	}
	return a
}

// WholeGPU is a GPU published whole.
func WholeGPU(g GPU) resourceapi.Device {
	return resourceapi.Device{Name: g.DeviceName(), Attributes: g.attributes(attrs.GPUTypeWhole),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.GPUMemory: {Value: resource.MustParse("80Gi")}}}
}

// SharedGPU is a GPU published for sharing: 1000 milli-GPU of compute,
// default share 250, step 50, as driver/gpu's defaults.
func SharedGPU(g GPU) resourceapi.Device {
	d := WholeGPU(g)
	d.Attributes[attrs.GPUType] = resourceapi.DeviceAttribute{StringValue: ptr.To(attrs.GPUTypeShared)}
	d.AllowMultipleAllocations = ptr.To(true)
	d.Capacity = map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
		attrs.GPUCompute: {Value: *resource.NewQuantity(1000, resource.DecimalSI), RequestPolicy: &resourceapi.CapacityRequestPolicy{
			Default:    resource.NewQuantity(250, resource.DecimalSI),
			ValidRange: &resourceapi.CapacityRequestPolicyRange{Min: resource.NewQuantity(100, resource.DecimalSI), Step: resource.NewQuantity(50, resource.DecimalSI)},
		}},
	}
	return d
}

// MIGProfile is one A100/H100-like MIG profile: compute slices, memory
// slices and the placements' first memory slices.
type MIGProfile struct {
	Name            string
	Compute, Memory int
	Starts          []int
}

// A100Profiles are the A100 40GB's MIG profiles and placements (8 memory
// slices, 7 compute slices).
var A100Profiles = []MIGProfile{
	{"1g.5gb", 1, 1, []int{0, 1, 2, 3, 4, 5, 6}},
	{"2g.10gb", 2, 2, []int{0, 2, 4}},
	{"3g.20gb", 3, 4, []int{0, 4}},
	{"4g.20gb", 4, 4, []int{0}},
	{"7g.40gb", 7, 8, []int{0}},
}

// MIGDeviceName names a partition as driver/gpu does.
func MIGDeviceName(g GPU, p MIGProfile, start int) string {
	return fmt.Sprintf("%s-mig-%s-p%d", g.DeviceName(), p.Name, start)
}

// MIGGPU is a GPU in MIG mode: its counter set and its devices (the whole
// GPU consuming every counter, and one device per profile and placement).
func MIGGPU(g GPU, profiles []MIGProfile) (resourceapi.CounterSet, []resourceapi.Device) {
	counters := map[string]resourceapi.Counter{"compute-slices": {Value: *resource.NewQuantity(7, resource.DecimalSI)}}
	for i := range 8 {
		counters[fmt.Sprintf("memory-slice-%d", i)] = resourceapi.Counter{Value: *resource.NewQuantity(1, resource.DecimalSI)}
	}
	set := resourceapi.CounterSet{Name: g.DeviceName(), Counters: counters}
	consume := func(start, size, compute int) []resourceapi.DeviceCounterConsumption {
		c := map[string]resourceapi.Counter{"compute-slices": {Value: *resource.NewQuantity(int64(compute), resource.DecimalSI)}}
		for i := start; i < start+size; i++ {
			c[fmt.Sprintf("memory-slice-%d", i)] = resourceapi.Counter{Value: *resource.NewQuantity(1, resource.DecimalSI)}
		}
		return []resourceapi.DeviceCounterConsumption{{CounterSet: set.Name, Counters: c}}
	}
	whole := WholeGPU(g)
	whole.ConsumesCounters = consume(0, 8, 7)
	devices := []resourceapi.Device{whole}
	for _, p := range profiles {
		for _, start := range p.Starts {
			d := WholeGPU(g)
			d.Name = MIGDeviceName(g, p, start)
			delete(d.Attributes, attrs.GPUUUID)
			d.Attributes[attrs.GPUType] = resourceapi.DeviceAttribute{StringValue: ptr.To(attrs.GPUTypeMIG)}
			d.Attributes[attrs.GPUParentUUID] = resourceapi.DeviceAttribute{StringValue: ptr.To(g.UUID)}
			d.Attributes[attrs.GPUMIGProfile] = resourceapi.DeviceAttribute{StringValue: ptr.To(p.Name)}
			d.Attributes[attrs.GPUMIGPlacementStart] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(start))}
			d.Attributes[attrs.GPUMIGPlacementSize] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(p.Memory))}
			d.Attributes[attrs.GPUMIGComputeSlices] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(p.Compute))}
			d.ConsumesCounters = consume(start, p.Memory, p.Compute)
			devices = append(devices, d)
		}
	}
	return set, devices
}

// CPU is one NUMA node's CPU device with cpus logical CPUs, in socket
// socket, with the package's idle and maximum power (0: unpublished).
func CPU(numa, socket int, cpus, idle, maxW int64) resourceapi.Device {
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.NUMANode:  {IntValue: ptr.To(int64(numa))},
		attrs.CPUSocket: {IntValue: ptr.To(int64(socket))},
	}
	if idle > 0 {
		a[attrs.CPUPackageIdleWatts] = resourceapi.DeviceAttribute{IntValue: ptr.To(idle)}
		a[attrs.CPUPackageMaxWatts] = resourceapi.DeviceAttribute{IntValue: ptr.To(maxW)}
	}
	return resourceapi.Device{
		Name: fmt.Sprintf("cpu-numa%d", numa), Attributes: a, AllowMultipleAllocations: ptr.To(true),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.CPUs: {
			Value: *resource.NewQuantity(cpus, resource.DecimalSI),
			RequestPolicy: &resourceapi.CapacityRequestPolicy{
				Default:    resource.NewQuantity(1, resource.DecimalSI),
				ValidRange: &resourceapi.CapacityRequestPolicyRange{Min: resource.NewQuantity(1, resource.DecimalSI), Step: resource.NewQuantity(1, resource.DecimalSI)},
			},
		}},
	}
}

// NIC is an RDMA NIC on a NUMA node and PCIe root.
func NIC(name string, numa int, root string) resourceapi.Device {
	return resourceapi.Device{Name: name, Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.NUMANode: {IntValue: ptr.To(int64(numa))},
		attrs.PCIeRoot: {StringValue: ptr.To(root)},
		attrs.NICRDMA:  {BoolValue: ptr.To(true)},
	}}
}

// Pool splits devices of one driver and node into slices of at most per
// devices (named <node>-<driver>-<i>), preceded by a counter slice when
// counters are given, all of generation 1.
func Pool(driver, node string, per int, counters []resourceapi.CounterSet, devices ...resourceapi.Device) []*resourceapi.ResourceSlice {
	var out []*resourceapi.ResourceSlice
	mk := func() *resourceapi.ResourceSlice {
		s := &resourceapi.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", node, driver, len(out)), ResourceVersion: "1"},
			Spec: resourceapi.ResourceSliceSpec{Driver: driver, NodeName: ptr.To(node),
				Pool: resourceapi.ResourcePool{Name: node, Generation: 1}},
		}
		out = append(out, s)
		return s
	}
	if len(counters) > 0 {
		mk().Spec.SharedCounters = counters
	}
	for len(devices) > 0 {
		n := min(len(devices), per)
		mk().Spec.Devices = devices[:n:n]
		devices = devices[n:]
	}
	for _, s := range out {
		s.Spec.Pool.ResourceSliceCount = int64(len(out))
	}
	return out
}

// DGX is a node like a DGX H100: two NUMA nodes (sockets) of four whole
// GPUs (70 W idle, 700 W max, each on its own PCIe root), one CPU device
// of 112 CPUs (20/270 W package) and two NICs per NUMA node, the first NIC
// of each NUMA node behind its first GPU's PCIe root.
func DGX(node string) ([]GPU, []*resourceapi.ResourceSlice) {
	var gpus []GPU
	var devices []resourceapi.Device
	for i := range 8 {
		g := GPU{UUID: fmt.Sprintf("%s-%d", node, i), NUMA: i / 4, PCIeRoot: fmt.Sprintf("pci%d", i), Idle: 70, Max: 700}
		gpus = append(gpus, g)
		devices = append(devices, WholeGPU(g))
	}
	var slices []*resourceapi.ResourceSlice
	slices = append(slices, Pool(attrs.GPUDriver, node, 3, nil, devices...)...)
	slices = append(slices, Pool(attrs.CPUDriver, node, 128, nil, CPU(0, 0, 112, 20, 270), CPU(1, 1, 112, 20, 270))...)
	slices = append(slices, Pool(attrs.NICDriver, node, 128, nil,
		NIC("nic-0", 0, "pci0"), NIC("nic-1", 0, "pci-storage0"), NIC("nic-4", 1, "pci4"), NIC("nic-5", 1, "pci-storage1"))...)
	return gpus, slices
}

// SharedNode is a workstation with n shared GPUs (35 W idle, 250 W max) on
// NUMA node 0.
func SharedNode(node string, n int) ([]GPU, []*resourceapi.ResourceSlice) {
	var gpus []GPU
	var devices []resourceapi.Device
	for i := range n {
		g := GPU{UUID: fmt.Sprintf("%s-%d", node, i), NUMA: 0, PCIeRoot: fmt.Sprintf("pci%d", i), Idle: 35, Max: 250}
		gpus = append(gpus, g)
		devices = append(devices, SharedGPU(g))
	}
	return gpus, Pool(attrs.GPUDriver, node, 64, nil, devices...)
}

// MIGNode is a node with n A100-like GPUs in MIG mode (50 W idle, 400 W
// max).
func MIGNode(node string, n int) ([]GPU, []*resourceapi.ResourceSlice) {
	var gpus []GPU
	var sets []resourceapi.CounterSet
	var devices []resourceapi.Device
	for i := range n {
		g := GPU{UUID: fmt.Sprintf("%s-%d", node, i), NUMA: 0, PCIeRoot: fmt.Sprintf("pci%d", i), Idle: 50, Max: 400}
		gpus = append(gpus, g)
		set, ds := MIGGPU(g, A100Profiles)
		sets = append(sets, set)
		devices = append(devices, ds...)
	}
	return gpus, Pool(attrs.GPUDriver, node, 64, sets, devices...)
}
