package draview

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/pkg/attrs"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// listFor lists the view as the plugin's PreFilter has the upstream
// PreFilter list it for the pod using claim.
func listFor(t *testing.T, v *view, m *fx.Manager, claim *resourceapi.ResourceClaim) []*resourceapi.ResourceSlice {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	m.AddClaim(claim)
	v.forPod(v.src.PodDemand(ctx, fx.Pod("p", claim.Name)))
	defer v.forPod(nil)
	list, err := v.ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// numaOf maps n1's GPU device names to their NUMA nodes.
func numaOf(gpus []fx.GPU) map[string]int {
	out := map[string]int{}
	for _, g := range gpus {
		out[g.DeviceName()] = g.NUMA
	}
	return out
}

// threeOfNUMA0Busy is the cluster with GPUs 1-3 of n1 (NUMA node 0)
// allocated: NUMA node 0 has one free GPU, NUMA node 1 four.
func threeOfNUMA0Busy() (*fx.Manager, []fx.GPU) {
	m, gpus := cluster()
	for _, i := range []int{1, 2, 3} {
		m.Allocate(attrs.GPUDriver, "n1", gpus[0][i].DeviceName())
	}
	return m, gpus[0]
}

// TestViewAlignsMultiGPURequest: a 3-GPU request without a constraint
// next to a partly used NUMA node with one free GPU. Ordered for one
// device, the allocator takes that GPU and two of NUMA node 1; ordered for
// the pod's request size, it takes three GPUs of NUMA node 1.
func TestViewAlignsMultiGPURequest(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			m, gpus := threeOfNUMA0Busy()
			claim := fx.Claim("three", "", fx.Request("gpu", fx.GPUClass, 3))

			unsized, err := newView(t, m).ListWithDeviceTaintRules()
			if err != nil {
				t.Fatal(err)
			}
			split := allocateOnN1(t, allocator, m, unsized, claim)
			if want := []string{gpus[0].DeviceName(), gpus[4].DeviceName(), gpus[5].DeviceName()}; !slices.Equal(split, want) {
				t.Fatalf("ordered for one device: allocated %v, want %v (the case this order fixes)", split, want)
			}

			got := allocateOnN1(t, allocator, m, listFor(t, newView(t, m), m, claim), claim)
			numa := numaOf(gpus)
			for _, d := range got {
				if numa[d] != 1 {
					t.Errorf("ordered for three GPUs: allocated %v, want three GPUs of NUMA node 1", got)
					break
				}
			}
		})
	}
}

// TestViewTightestFitForMultiGPURequest: with two GPUs free on NUMA node 0
// and four on NUMA node 1, a 2-GPU request (with CPUs, which follow the
// GPUs) takes NUMA node 0's last two, keeping NUMA node 1 whole.
func TestViewTightestFitForMultiGPURequest(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			m, all := cluster()
			gpus := all[0]
			m.Allocate(attrs.GPUDriver, "n1", gpus[0].DeviceName())
			m.Allocate(attrs.GPUDriver, "n1", gpus[1].DeviceName())
			claim := fx.Claim("two", "", fx.Request("gpu", fx.GPUClass, 2), fx.CPURequest("cpu", 8))
			got := allocateOnN1(t, allocator, m, listFor(t, newView(t, m), m, claim), claim)
			want := []string{gpus[2].DeviceName(), gpus[3].DeviceName(), "cpu-numa0"}
			if !slices.Equal(got, want) {
				t.Errorf("allocated %v, want %v", got, want)
			}
		})
	}
}

// TestViewSingleGPUOrderUnchanged: for one-device requests the order is
// the one without a pod, which packs the partly used NUMA node.
func TestViewSingleGPUOrderUnchanged(t *testing.T) {
	m, gpus := threeOfNUMA0Busy()
	unsized, err := newView(t, m).ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, claim := range []*resourceapi.ResourceClaim{
		fx.Claim("one", "", fx.Request("gpu", fx.GPUClass, 1)),
		fx.Claim("one-with-cpus", "", fx.Request("gpu", fx.GPUClass, 1), fx.CPURequest("cpu", 8)),
		// More GPUs than any NUMA node has: the request spills anyway.
		fx.Claim("five", "", fx.Request("gpu", fx.GPUClass, 5)),
	} {
		sized := listFor(t, newView(t, m), m, claim)
		if a, b := devicesInSliceOrder(unsized), devicesInSliceOrder(sized); !reflect.DeepEqual(a, b) {
			t.Errorf("claim %s: order differs from the single-device order:\n%v\n%v", claim.Name, a, b)
		}
	}
	got := allocateOnN1(t, "incubating", m, unsized, fx.Claim("one", "", fx.Request("gpu", fx.GPUClass, 1)))
	if !slices.Equal(got, []string{gpus[0].DeviceName()}) {
		t.Errorf("one GPU: allocated %v, want %s, the partly used NUMA node's free GPU", got, gpus[0].DeviceName())
	}
}

// TestViewSizedOrderIsDeterministic: the order for a request size does not
// depend on the slice list's order, nor on which sizes the model was
// ordered for before (its cache keeps one order per size).
func TestViewSizedOrderIsDeterministic(t *testing.T) {
	m, _ := threeOfNUMA0Busy()
	three := fx.Claim("three", "", fx.Request("gpu", fx.GPUClass, 3))
	one := fx.Claim("one", "", fx.Request("gpu", fx.GPUClass, 1))

	fresh := devicesInSliceOrder(listFor(t, newView(t, m), m, three))
	v := newView(t, m)
	var seen []map[string][]string
	for _, claim := range []*resourceapi.ResourceClaim{one, three, one, three} {
		seen = append(seen, devicesInSliceOrder(listFor(t, v, m, claim)))
	}
	if !reflect.DeepEqual(seen[1], fresh) || !reflect.DeepEqual(seen[3], fresh) {
		t.Errorf("order for three GPUs depends on earlier listings:\n%v\n%v\n%v", fresh, seen[1], seen[3])
	}
	if !reflect.DeepEqual(seen[0], seen[2]) {
		t.Errorf("order for one GPU depends on earlier listings:\n%v\n%v", seen[0], seen[2])
	}
	slices.Reverse(m.Slices)
	if again := devicesInSliceOrder(listFor(t, newView(t, m), m, three)); !reflect.DeepEqual(again, fresh) {
		t.Errorf("order depends on the slice list's order:\n%v\n%v", fresh, again)
	}
}

// TestViewAlignsMultiShareRequest: the allocator gives each device of one
// request a distinct device, so three whole-GPU shares of shared GPUs span
// three GPUs and are ordered like three whole GPUs: NUMA node 1, which has
// room for all three, rather than NUMA node 0's last free GPU first.
func TestViewAlignsMultiShareRequest(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			m := fx.NewManager()
			var gpus []fx.GPU
			var devices []resourceapi.Device
			for i := range 8 {
				g := fx.GPU{UUID: fmt.Sprintf("n1-%d", i), NUMA: i / 4, Idle: 70, Max: 700}
				gpus = append(gpus, g)
				devices = append(devices, fx.SharedGPU(g))
			}
			m.Slices = append(m.Slices, fx.Pool(attrs.GPUDriver, "n1", 64, nil, devices...)...)
			for _, i := range []int{1, 2, 3} {
				m.Share(attrs.GPUDriver, "n1", gpus[i].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 1000})
			}
			three := fx.ShareRequest("gpu", 1000)
			three.Exactly.Count = 3
			claim := fx.Claim("three-shares", "", three)
			got := allocateOnN1(t, allocator, m, listFor(t, newView(t, m), m, claim), claim)
			numa := numaOf(gpus)
			if len(got) != 3 {
				t.Fatalf("allocated %v, want three GPUs", got)
			}
			for _, d := range got {
				if numa[d] != 1 {
					t.Errorf("allocated %v, want three GPUs of NUMA node 1", got)
					break
				}
			}
		})
	}
}
