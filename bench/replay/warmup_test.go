package replay

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

func TestWarmupTargetsTheSliceCreatedLast(t *testing.T) {
	slice := func(node, driver string, devices int) resourceapi.ResourceSlice {
		s := resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{Driver: driver, NodeName: ptr.To(node)}}
		for range devices {
			s.Spec.Devices = append(s.Spec.Devices, resourceapi.Device{Name: "d"})
		}
		return s
	}
	if lastDeviceSlice([][]resourceapi.ResourceSlice{{slice("a", attrs.NICDriver, 0)}}) != nil {
		t.Error("a cluster without devices has a warm-up slice")
	}
	nodes := [][]resourceapi.ResourceSlice{
		{slice("a", attrs.GPUDriver, 2), slice("a", attrs.CPUDriver, 1)},
		{slice("b", attrs.GPUDriver, 2), slice("b", attrs.CPUDriver, 2), slice("b", attrs.NICDriver, 0)},
	}
	last := lastDeviceSlice(nodes)
	if last != &nodes[1][1] {
		t.Fatalf("warm-up slice %s of %s, want b's CPU slice", last.Spec.Driver, *last.Spec.NodeName)
	}
	for _, tc := range []struct {
		slice *resourceapi.ResourceSlice
		class string
	}{{last, "cpu.hadron.dev"}, {&nodes[1][0], sharedGPUClass}} {
		claim, pod := warmupObjects(tc.slice, "sched")
		req := claim.Spec.Devices.Requests[0].Exactly
		if req.DeviceClassName != tc.class || req.Count != 1 {
			t.Errorf("%s: class %s count %d, want %s and 1", tc.slice.Spec.Driver, req.DeviceClassName, req.Count, tc.class)
		}
		if pod.Spec.NodeSelector[v1.LabelHostname] != "b" || pod.Namespace != warmupNamespace || *pod.Spec.ResourceClaims[0].ResourceClaimName != claim.Name {
			t.Errorf("%s: pod %+v", tc.slice.Spec.Driver, pod.Spec)
		}
	}
}
