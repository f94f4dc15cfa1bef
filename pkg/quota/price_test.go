package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// pools is a Pools over a fixed set of slices.
type pools []*resourceapi.ResourceSlice

func (p pools) PoolSlices(driver, pool string) []*resourceapi.ResourceSlice {
	var out []*resourceapi.ResourceSlice
	for _, s := range p {
		if s.Spec.Driver == driver && s.Spec.Pool.Name == pool {
			out = append(out, s)
		}
	}
	return out
}

func slice(driver, pool string, devices ...resourceapi.Device) *resourceapi.ResourceSlice {
	return &resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{
		Driver: driver, Pool: resourceapi.ResourcePool{Name: pool}, Devices: devices,
	}}
}

func str(s string) resourceapi.DeviceAttribute { return resourceapi.DeviceAttribute{StringValue: &s} }
func num(n int64) resourceapi.DeviceAttribute  { return resourceapi.DeviceAttribute{IntValue: &n} }
func qty(s string) resourceapi.DeviceCapacity {
	return resourceapi.DeviceCapacity{Value: resource.MustParse(s)}
}

func gpuDevice(name, kind, memory string, extra map[resourceapi.QualifiedName]resourceapi.DeviceAttribute) resourceapi.Device {
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{attrs.GPUType: str(kind)}
	for k, v := range extra {
		a[k] = v
	}
	return resourceapi.Device{Name: name, Attributes: a,
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.GPUMemory: qty(memory)}}
}

func migDevice(name, parent, profile string, computeSlices int64, memory string) resourceapi.Device {
	return gpuDevice(name, attrs.GPUTypeMIG, memory, map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.GPUParentUUID: str(parent), attrs.GPUMIGProfile: str(profile), attrs.GPUMIGComputeSlices: num(computeSlices),
	})
}

var testPools = pools{
	slice(attrs.GPUDriver, "dgx", gpuDevice("gpu-0", attrs.GPUTypeWhole, "80Gi", nil), gpuDevice("gpu-1", attrs.GPUTypeWhole, "80Gi", nil)),
	// A MIG GPU spread over two slices, as the driver does with many devices.
	slice(attrs.GPUDriver, "a100",
		gpuDevice("gpu-a", attrs.GPUTypeWhole, "40Gi", nil),
		migDevice("gpu-a-mig-1g5gb-p0", "GPU-A", "1g.5gb", 1, "5Gi"),
		migDevice("gpu-a-mig-1g5gbme-p0", "GPU-A", "1g.5gb+me", 1, "5Gi"),
		migDevice("gpu-a-mig-3g20gb-p4", "GPU-A", "3g.20gb", 3, "20Gi")),
	slice(attrs.GPUDriver, "a100", migDevice("gpu-a-mig-7g40gb-p0", "GPU-A", "7g.40gb", 7, "40Gi")),
	// A30-like GPU with 4 compute slices.
	slice(attrs.GPUDriver, "a30", migDevice("gpu-b-mig-1g6gb-p0", "GPU-B", "1g.6gb", 1, "6Gi"),
		migDevice("gpu-b-mig-4g24gb-p0", "GPU-B", "4g.24gb", 4, "24Gi")),
	slice(attrs.GPUDriver, "ws", gpuDevice("gpu-s", attrs.GPUTypeShared, "24Gi", nil)),
	slice(attrs.CPUDriver, "dgx", resourceapi.Device{Name: "cpu-numa0", Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.CPUs: qty("110")}}),
	slice(attrs.NICDriver, "dgx", resourceapi.Device{Name: "mlx5-0"}),
}

func result(driver, pool, device string, consumed map[resourceapi.QualifiedName]string) resourceapi.DeviceRequestAllocationResult {
	r := resourceapi.DeviceRequestAllocationResult{Request: "r", Driver: driver, Pool: pool, Device: device}
	if consumed != nil {
		r.ConsumedCapacity = map[resourceapi.QualifiedName]resource.Quantity{}
		for k, v := range consumed {
			r.ConsumedCapacity[k] = resource.MustParse(v)
		}
	}
	return r
}

func alloc(results ...resourceapi.DeviceRequestAllocationResult) *resourceapi.AllocationResult {
	return &resourceapi.AllocationResult{Devices: resourceapi.DeviceAllocationResult{Results: results}}
}

func TestPrice(t *testing.T) {
	for name, tc := range map[string]struct {
		alloc      *resourceapi.AllocationResult
		want       List
		incomplete bool
	}{
		"nil": {alloc: nil},
		"two whole GPUs": {
			alloc: alloc(result(attrs.GPUDriver, "dgx", "gpu-0", nil), result(attrs.GPUDriver, "dgx", "gpu-1", nil)),
			want:  List{GPUs: 2, GPUMilli: 2000, GPUMemory: 160 << 30},
		},
		"MIG 1g of 7 slices": {
			alloc: alloc(result(attrs.GPUDriver, "a100", "gpu-a-mig-1g5gb-p0", nil)),
			want:  List{"mig-1g.5gb": 1, GPUMilli: 142, GPUMemory: 5 << 30},
		},
		"MIG 3g and +me, total from another slice of the pool": {
			alloc: alloc(result(attrs.GPUDriver, "a100", "gpu-a-mig-3g20gb-p4", nil), result(attrs.GPUDriver, "a100", "gpu-a-mig-1g5gbme-p0", nil)),
			want:  List{"mig-3g.20gb": 1, "mig-1g.5gb_me": 1, GPUMilli: 428 + 142, GPUMemory: 25 << 30},
		},
		"MIG full profile is a GPU's compute": {
			alloc: alloc(result(attrs.GPUDriver, "a100", "gpu-a-mig-7g40gb-p0", nil)),
			want:  List{"mig-7g.40gb": 1, GPUMilli: 1000, GPUMemory: 40 << 30},
		},
		"MIG on a 4-slice GPU": {
			alloc: alloc(result(attrs.GPUDriver, "a30", "gpu-b-mig-1g6gb-p0", nil)),
			want:  List{"mig-1g.6gb": 1, GPUMilli: 250, GPUMemory: 6 << 30},
		},
		"whole GPU of a MIG GPU": {
			alloc: alloc(result(attrs.GPUDriver, "a100", "gpu-a", nil)),
			want:  List{GPUs: 1, GPUMilli: 1000, GPUMemory: 40 << 30},
		},
		"shared share": {
			alloc: alloc(result(attrs.GPUDriver, "ws", "gpu-s", map[resourceapi.QualifiedName]string{attrs.GPUCompute: "250", attrs.GPUMemory: "6Gi"})),
			want:  List{GPUMilli: 250, GPUMemory: 6 << 30},
		},
		"shared without consumed capacity costs the device": {
			alloc: alloc(result(attrs.GPUDriver, "ws", "gpu-s", nil)),
			want:  List{GPUMilli: 1000, GPUMemory: 24 << 30},
		},
		"CPUs consumed": {
			alloc: alloc(result(attrs.CPUDriver, "dgx", "cpu-numa0", map[resourceapi.QualifiedName]string{attrs.CPUs: "16"})),
			want:  List{CPUs: 16},
		},
		"CPU device whole": {
			alloc: alloc(result(attrs.CPUDriver, "dgx", "cpu-numa0", nil)),
			want:  List{CPUs: 110},
		},
		"NIC": {
			alloc: alloc(result(attrs.NICDriver, "dgx", "mlx5-0", map[resourceapi.QualifiedName]string{attrs.NICBandwidth: "100G"})),
			want:  List{NICs: 1},
		},
		"admin access and foreign drivers are free": {
			alloc: func() *resourceapi.AllocationResult {
				a := alloc(result(attrs.GPUDriver, "dgx", "gpu-0", nil), result("other.example.com", "p", "d", nil))
				a.Devices.Results[0].AdminAccess = ptr.To(true)
				return a
			}(),
			want: List{},
		},
		"unknown GPU counts as a whole one": {
			alloc:      alloc(result(attrs.GPUDriver, "gone", "gpu-x", nil)),
			want:       List{GPUs: 1, GPUMilli: 1000},
			incomplete: true,
		},
		"unknown GPU with consumed capacity counts as a share": {
			alloc:      alloc(result(attrs.GPUDriver, "gone", "gpu-x", map[resourceapi.QualifiedName]string{attrs.GPUCompute: "300", attrs.GPUMemory: "1Gi"})),
			want:       List{GPUMilli: 300, GPUMemory: 1 << 30},
			incomplete: true,
		},
		"unknown CPU device": {
			alloc:      alloc(result(attrs.CPUDriver, "gone", "cpu-x", nil)),
			want:       List{CPUs: 1},
			incomplete: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, complete := Price(tc.alloc, testPools)
			if complete == tc.incomplete {
				t.Errorf("complete = %v, want %v", complete, !tc.incomplete)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("price (-want +got):\n%s", diff)
			}
		})
	}
}
