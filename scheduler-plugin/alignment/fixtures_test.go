package alignment

import (
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// The test node has two NUMA nodes with four GPUs each, two GPUs per PCIe
// root, one RDMA NIC per NUMA node (InfiniBand on 0, Ethernet on 1) and one
// CPU device per NUMA node (32 and 64 CPUs), as hadron's drivers publish
// them.
const testNode = "node-1"

type attrMap = map[resourceapi.QualifiedName]resourceapi.DeviceAttribute

func intAttr(v int64) resourceapi.DeviceAttribute { return resourceapi.DeviceAttribute{IntValue: &v} }
func strAttr(v string) resourceapi.DeviceAttribute {
	return resourceapi.DeviceAttribute{StringValue: &v}
}
func boolAttr(v bool) resourceapi.DeviceAttribute { return resourceapi.DeviceAttribute{BoolValue: &v} }
func pcieRoot(i int) resourceapi.DeviceAttribute  { return strAttr(fmt.Sprintf("pci0000:%02x", i*0x20)) }
func numa(n int64) resourceapi.DeviceAttribute    { return intAttr(n) }

// gpu returns whole GPU i; its driver attributes are unqualified, as
// drivers may publish them.
func gpu(i int64) resourceapi.Device {
	return resourceapi.Device{
		Name: fmt.Sprintf("gpu-%d", i),
		Attributes: attrMap{
			"type":         strAttr(attrs.GPUTypeWhole),
			"index":        intAttr(i),
			attrs.NUMANode: numa(i / 4),
			attrs.PCIeRoot: pcieRoot(int(i / 2)),
		},
	}
}

func nic(i int64, linkLayer string) resourceapi.Device {
	return resourceapi.Device{
		Name: fmt.Sprintf("nic-%d", i),
		Attributes: attrMap{
			attrs.NICLinkLayer: strAttr(linkLayer),
			attrs.NICRDMA:      boolAttr(true),
			attrs.NUMANode:     numa(i),
			// NIC i sits on the first PCIe root of NUMA node i.
			attrs.PCIeRoot: pcieRoot(int(2 * i)),
		},
	}
}

func cpu(numaNode int64, cpus int64) resourceapi.Device {
	return resourceapi.Device{
		Name:                     fmt.Sprintf("cpus-numa%d", numaNode),
		AllowMultipleAllocations: ptr.To(true),
		Attributes:               attrMap{attrs.NUMANode: numa(numaNode)},
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
			attrs.CPUs: {Value: *resource.NewQuantity(cpus, resource.DecimalSI)},
		},
	}
}

func slice(node, driver string, devices ...resourceapi.Device) *resourceapi.ResourceSlice {
	s := &resourceapi.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: node + "-" + driver},
		Spec: resourceapi.ResourceSliceSpec{
			Driver:  driver,
			Pool:    resourceapi.ResourcePool{Name: node, ResourceSliceCount: 1},
			Devices: devices,
		},
	}
	if node != "" {
		s.Spec.NodeName = &node
	}
	return s
}

// testSlices is the test node's hardware.
func testSlices() []*resourceapi.ResourceSlice { return nodeSlices(testNode) }

func nodeSlices(node string) []*resourceapi.ResourceSlice {
	var gpus []resourceapi.Device
	for i := range int64(8) {
		gpus = append(gpus, gpu(i))
	}
	return []*resourceapi.ResourceSlice{
		slice(node, attrs.GPUDriver, gpus...),
		slice(node, attrs.NICDriver, nic(0, attrs.NICLinkLayerInfiniBand), nic(1, attrs.NICLinkLayerEthernet)),
		slice(node, attrs.CPUDriver, cpu(0, 32), cpu(1, 64)),
	}
}

// numa0GPUs are eight GPUs all on NUMA node 0.
func numa0GPUs() []resourceapi.Device {
	var gpus []resourceapi.Device
	for i := range int64(8) {
		g := gpu(i)
		g.Attributes[attrs.NUMANode] = numa(0)
		gpus = append(gpus, g)
	}
	return gpus
}

// request returns an ExactCount request; options adjust it.
func request(name, class string, count int64, opts ...func(*resourceapi.ExactDeviceRequest)) resourceapi.DeviceRequest {
	exact := &resourceapi.ExactDeviceRequest{
		DeviceClassName: class,
		AllocationMode:  resourceapi.DeviceAllocationModeExactCount,
		Count:           count,
	}
	for _, opt := range opts {
		opt(exact)
	}
	return resourceapi.DeviceRequest{Name: name, Exactly: exact}
}

func selector(expr string) func(*resourceapi.ExactDeviceRequest) {
	return func(r *resourceapi.ExactDeviceRequest) {
		r.Selectors = append(r.Selectors, resourceapi.DeviceSelector{CEL: &resourceapi.CELDeviceSelector{Expression: expr}})
	}
}

func cpus(n int64) func(*resourceapi.ExactDeviceRequest) {
	return func(r *resourceapi.ExactDeviceRequest) {
		r.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
			attrs.CPUs: *resource.NewQuantity(n, resource.DecimalSI),
		}}
	}
}

func match(attribute resourceapi.QualifiedName, requests ...string) resourceapi.DeviceConstraint {
	return resourceapi.DeviceConstraint{Requests: requests, MatchAttribute: ptr.To(resourceapi.FullyQualifiedName(attribute))}
}

// claim returns claim default/<name>.
func claim(name string, requests []resourceapi.DeviceRequest, constraints ...resourceapi.DeviceConstraint) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests:    requests,
			Constraints: constraints,
		}},
	}
}

func reqs(r ...resourceapi.DeviceRequest) []resourceapi.DeviceRequest { return r }
