package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

func exact(class string, count int64, capacity map[resourceapi.QualifiedName]string) resourceapi.DeviceRequest {
	r := &resourceapi.ExactDeviceRequest{DeviceClassName: class, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: count}
	if capacity != nil {
		r.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{}}
		for k, v := range capacity {
			r.Capacity.Requests[k] = resource.MustParse(v)
		}
	}
	return resourceapi.DeviceRequest{Name: "r", Exactly: r}
}

func spec(requests ...resourceapi.DeviceRequest) *resourceapi.ResourceClaimSpec {
	return &resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: requests}}
}

func TestDemand(t *testing.T) {
	for name, tc := range map[string]struct {
		spec *resourceapi.ResourceClaimSpec
		want List
	}{
		"empty": {spec: spec(), want: List{}},
		"whole GPUs, CPUs and a NIC": {
			spec: spec(exact("gpu.hadron.dev", 4, nil), exact("cpu.hadron.dev", 1, map[resourceapi.QualifiedName]string{attrs.CPUs: "32"}), exact("nic.hadron.dev", 1, nil)),
			want: List{GPUs: 4, GPUMilli: 4000, CPUs: 32, NICs: 1},
		},
		"count defaults to one": {
			spec: spec(exact("gpu.hadron.dev", 0, nil)),
			want: List{GPUs: 1, GPUMilli: 1000},
		},
		"share": {
			spec: spec(exact("shared.gpu.hadron.dev", 1, map[resourceapi.QualifiedName]string{attrs.GPUCompute: "250", attrs.GPUMemory: "4Gi"})),
			want: List{GPUMilli: 250, GPUMemory: 4 << 30},
		},
		"MIG and unknown classes are not bounded": {
			spec: spec(exact("mig.gpu.hadron.dev", 2, nil), exact("example.com", 3, nil)),
			want: List{},
		},
		"mode All": {
			spec: func() *resourceapi.ResourceClaimSpec {
				s := spec(exact("gpu.hadron.dev", 0, nil))
				s.Devices.Requests[0].Exactly.AllocationMode = resourceapi.DeviceAllocationModeAll
				return s
			}(),
			want: List{},
		},
		"admin access": {
			spec: func() *resourceapi.ResourceClaimSpec {
				s := spec(exact("gpu.hadron.dev", 1, nil))
				s.Devices.Requests[0].Exactly.AdminAccess = ptr.To(true)
				return s
			}(),
			want: List{},
		},
		"prioritized list takes the cheapest": {
			spec: spec(resourceapi.DeviceRequest{Name: "any", FirstAvailable: []resourceapi.DeviceSubRequest{
				{Name: "two", DeviceClassName: "gpu.hadron.dev", AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 2},
				{Name: "share", DeviceClassName: "shared.gpu.hadron.dev", AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1,
					Capacity: &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{attrs.GPUCompute: resource.MustParse("500")}}},
			}}),
			want: List{GPUs: 0, GPUMilli: 500},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Demand(tc.spec)); diff != "" {
				t.Errorf("demand (-want +got):\n%s", diff)
			}
		})
	}
}
