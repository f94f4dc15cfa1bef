package alignment

import (
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

const (
	gpuClass = "gpu.hadron.dev"
	migClass = "mig.gpu.hadron.dev"
	nicClass = "nic.hadron.dev"
	cpuClass = "cpu.hadron.dev"

	infiniBand = `device.attributes["nic.hadron.dev"].linkLayer == "InfiniBand"`
)

func TestRejection(t *testing.T) {
	gpus := func(n int64, opts ...func(*resourceapi.ExactDeviceRequest)) resourceapi.DeviceRequest {
		return request("gpus", gpuClass, n, opts...)
	}
	oneNIC := request("nic", nicClass, 1)
	ibNIC := request("nic", nicClass, 1, selector(infiniBand))
	sameNUMA := match(attrs.NUMANode, "gpus", "nic")
	samePCIe := match(attrs.PCIeRoot, "gpus", "nic")

	allocated := claim("train-0", reqs(gpus(5), oneNIC), sameNUMA)
	allocated.Status.Allocation = &resourceapi.AllocationResult{}

	// NICs whose driver does not publish the NUMA node.
	noNUMA := testSlices()
	for i := range noNUMA[1].Spec.Devices {
		delete(noNUMA[1].Spec.Devices[i].Attributes, attrs.NUMANode)
	}
	// A ninth GPU, on NUMA node 0, in a slice that is not bound by name.
	extraGPU := func(mutate func(*resourceapi.ResourceSlice)) []*resourceapi.ResourceSlice {
		g := gpu(8)
		g.Attributes[attrs.NUMANode] = numa(0)
		s := slice("", attrs.GPUDriver, g)
		mutate(s)
		return append(testSlices(), s)
	}

	tests := []struct {
		name       string
		claims     []*resourceapi.ResourceClaim
		slices     []*resourceapi.ResourceSlice // testSlices() when nil
		noCapacity bool                         // consumable capacity off
		want       string                       // "" admits the node
	}{
		{
			name:   "five GPUs and a NIC on one NUMA node",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), sameNUMA)},
			want:   `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)`,
		},
		{
			name:   "four GPUs and a NIC on one NUMA node",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(4), oneNIC), sameNUMA)},
		},
		{
			name:   "constraint without requests covers all of them",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), match(attrs.NUMANode))},
			want:   `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)`,
		},
		{
			name:   "requests outside the constraint are not counted",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), match(attrs.NUMANode, "nic"))},
		},
		{
			name:   "two GPUs and a NIC on one PCIe root",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(2), oneNIC), samePCIe)},
		},
		{
			name:   "three GPUs and a NIC on one PCIe root",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(3), oneNIC), samePCIe)},
			want:   `claim default/train-0: no resource.kubernetes.io/pcieRoot value on this node has 3 devices for request "gpus" (most: 2 with pcieRoot=pci0000:00)`,
		},
		{
			name: "two requests fall short",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(5), request("nic", nicClass, 2)), sameNUMA)},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0), nor 2 devices for request "nic" (most: 1 with numaNode=0)`,
		},
		{
			name: "selectors put the GPUs and the NIC on different NUMA nodes",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(4, selector(`device.attributes["gpu.hadron.dev"].index >= 4`)), ibNIC), sameNUMA)},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has enough devices for requests "gpus", "nic" together (best: numaNode=1 with 4/4 for "gpus", 0/1 for "nic")`,
		},
		{
			name:   "InfiniBand NIC and GPUs on NUMA node 0",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(4), ibNIC), sameNUMA)},
		},
		{
			name: "class selector matches no device",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(request("mig", migClass, 1), oneNIC), match(attrs.NUMANode, "mig", "nic"))},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 1 device for request "mig" (no matching devices)`,
		},
		{
			name: "CPUs: 48 fit next to four GPUs on NUMA node 1",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(4), request("cpus", cpuClass, 1, cpus(48))), match(attrs.NUMANode))},
		},
		{
			name: "CPUs: 48 and an InfiniBand NIC are on different NUMA nodes",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(4), request("cpus", cpuClass, 1, cpus(48)), ibNIC), match(attrs.NUMANode))},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has enough devices for requests "gpus", "cpus", "nic" together (best: numaNode=0 with 4/4 for "gpus", 0/1 for "cpus", 1/1 for "nic")`,
		},
		{
			name: "CPUs: more than any NUMA node has",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(1), request("cpus", cpuClass, 1, cpus(80))), match(attrs.NUMANode))},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 1 device for request "cpus" (2 matching devices too small for cpu.hadron.dev/cpus=80)`,
		},
		{
			name: "CPUs: capacity not checked without consumable capacity",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(1), request("cpus", cpuClass, 1, cpus(80))), match(attrs.NUMANode))},
			noCapacity: true,
		},
		{
			name:   "devices lacking the attribute",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(1), oneNIC), sameNUMA)},
			slices: noNUMA,
			want:   `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 1 device for request "nic" (2 matching devices lack numaNode)`,
		},
		{
			name:   "allocated claim is not checked",
			claims: []*resourceapi.ResourceClaim{allocated},
		},
		{
			name: "CEL runtime error: not rejected",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(5, selector(`device.attributes["gpu.hadron.dev"].noSuchAttribute == 1`)), oneNIC), sameNUMA)},
		},
		{
			name: "CEL compile error: not checked",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(gpus(5, selector(`device.attributes[`)), oneNIC), sameNUMA)},
		},
		{
			name:   "unknown device class: not checked",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(request("gpus", "no-such-class", 5), oneNIC), sameNUMA)},
		},
		{
			name: "request with subrequests is not counted",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(
				resourceapi.DeviceRequest{Name: "gpus", FirstAvailable: []resourceapi.DeviceSubRequest{
					{Name: "eight", DeviceClassName: gpuClass, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 8},
					{Name: "four", DeviceClassName: gpuClass, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 4},
				}},
				oneNIC), match(attrs.NUMANode, "gpus/eight", "gpus", "nic"))},
		},
		{
			name: "allocation mode All is not counted",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(
				request("gpus", gpuClass, 0, func(r *resourceapi.ExactDeviceRequest) { r.AllocationMode = resourceapi.DeviceAllocationModeAll }),
				request("nic", nicClass, 2)), sameNUMA)},
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 2 devices for request "nic" (most: 1 with numaNode=0)`,
		},
		{
			name: "derived attribute: not checked",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(
				gpus(5, func(r *resourceapi.ExactDeviceRequest) {
					r.DerivedAttributes = []resourceapi.DeviceDerivedAttribute{{Name: resourceapi.FullyQualifiedName(attrs.NUMANode), Expression: "0"}}
				}), oneNIC), sameNUMA)},
		},
		{
			name: "one device counts for several requests",
			claims: []*resourceapi.ResourceClaim{claim("train-0",
				reqs(request("a", gpuClass, 3), request("b", gpuClass, 2)), match(attrs.NUMANode))},
		},
		{
			name: "the second claim cannot be aligned",
			claims: []*resourceapi.ResourceClaim{
				claim("first", reqs(gpus(4), oneNIC), sameNUMA),
				claim("second", reqs(gpus(3), oneNIC), samePCIe),
			},
			want: `claim default/second: no resource.kubernetes.io/pcieRoot value on this node has 3 devices for request "gpus" (most: 2 with pcieRoot=pci0000:00)`,
		},
		{
			name:   "devices of node-selector slices count on every node",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), sameNUMA)},
			slices: extraGPU(func(s *resourceapi.ResourceSlice) { s.Spec.AllNodes = ptr.To(true) }),
		},
		{
			name:   "per-device node selection: another node's device does not count",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), sameNUMA)},
			slices: extraGPU(func(s *resourceapi.ResourceSlice) {
				s.Spec.PerDeviceNodeSelection = ptr.To(true)
				s.Spec.Devices[0].NodeName = ptr.To("node-2")
			}),
			want: `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)`,
		},
		{
			name:   "per-device node selection: this node's device counts",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(5), oneNIC), sameNUMA)},
			slices: extraGPU(func(s *resourceapi.ResourceSlice) {
				s.Spec.PerDeviceNodeSelection = ptr.To(true)
				s.Spec.Devices[0].NodeName = ptr.To(testNode)
			}),
		},
		{
			name:   "another node's slices do not count",
			claims: []*resourceapi.ResourceClaim{claim("train-0", reqs(gpus(1), oneNIC), sameNUMA)},
			slices: []*resourceapi.ResourceSlice{slice("node-2", attrs.GPUDriver, gpu(0))},
			want:   `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 1 device for request "gpus" (no matching devices), nor 1 device for request "nic" (no matching devices)`,
		},
	}
	classes := schedtest.ShippedClasses(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logger, ctx := ktesting.NewTestContext(t)
			b := checkBuilder{
				class:    classLookup(classes),
				celCache: cel.NewCache(10, cel.Features{EnableConsumableCapacity: true}),
				capacity: !tc.noCapacity,
			}
			var checks []*claimCheck
			for _, c := range tc.claims {
				if check, why := b.build(c); check != nil {
					checks = append(checks, check)
				} else {
					t.Logf("claim %s not checked: %s", c.Name, why)
				}
			}
			slices := tc.slices
			if slices == nil {
				slices = testSlices()
			}
			got := rejection(ctx, logger, checks, newSliceIndex(slices).devices(testNode))
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func classLookup(classes map[string]*resourceapi.DeviceClass) func(string) (*resourceapi.DeviceClass, error) {
	return func(name string) (*resourceapi.DeviceClass, error) {
		if class, ok := classes[name]; ok {
			return class, nil
		}
		return nil, apierrors.NewNotFound(resourceapi.Resource("deviceclasses"), name)
	}
}

func TestBuildSkips(t *testing.T) {
	b := checkBuilder{class: classLookup(schedtest.ShippedClasses(t)), celCache: cel.NewCache(10, cel.Features{})}
	allocated := claim("a", reqs(request("gpus", gpuClass, 1)), match(attrs.NUMANode))
	allocated.Status.Allocation = &resourceapi.AllocationResult{}
	tests := map[string]struct {
		claim *resourceapi.ResourceClaim
		why   string
	}{
		"allocated":     {allocated, "already allocated"},
		"no constraint": {claim("a", reqs(request("gpus", gpuClass, 1))), "no matchAttribute constraint that can be checked"},
		"distinct only": {claim("a", reqs(request("gpus", gpuClass, 2)), resourceapi.DeviceConstraint{DistinctAttribute: ptr.To(resourceapi.FullyQualifiedName(attrs.PCIeRoot))}), "no matchAttribute constraint that can be checked"},
		"compile error": {claim("a", reqs(request("gpus", gpuClass, 1, selector("device.attributes["))), match(attrs.NUMANode)), `request "gpus": CEL compile error`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			check, why := b.build(tc.claim)
			if check != nil || len(why) < len(tc.why) || why[:len(tc.why)] != tc.why {
				t.Errorf("got check %v, reason %q; want none, reason starting with %q", check, why, tc.why)
			}
		})
	}
}
