package draview

// The allocator-order contract this plugin relies on (docs/scheduler.md):
// the structured allocator the scheduler runs with Kubernetes' default
// feature gates takes devices of a pool in the order of its slices' device
// lists, walking the slices of one pool by name, whatever order the slice
// list itself has. If a Kubernetes update changes any of that, these tests
// fail, and the view has to be revisited before hadron's device choice
// silently becomes upstream's.

import (
	"context"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// defaultFeatures are the allocator features the DynamicResources plugin
// asks for under the default feature gates.
func defaultFeatures() structured.Features {
	return dynamicresources.AllocatorFeatures(feature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate))
}

// TestContractDefaultAllocatorIsIncubating pins which implementation the
// default gates select: "stable" cannot serve them, "incubating" can. The
// order tests below run on "incubating", and on "experimental", which alpha
// gates select.
func TestContractDefaultAllocatorIsIncubating(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	defer structured.EnableAllocators()
	newAllocator := func(name string) error {
		structured.EnableAllocators(name)
		_, err := structured.NewAllocator(ctx, defaultFeatures(), fx.EmptyState(), fx.NewManager().DeviceClasses(), nil, cel.NewCache(1, cel.Features{}))
		return err
	}
	if err := newAllocator("stable"); err == nil {
		t.Error(`the default feature gates can be served by the "stable" allocator: check its device order and update the contract`)
	}
	if err := newAllocator("incubating"); err != nil {
		t.Errorf(`the "incubating" allocator cannot serve the default feature gates: %v`, err)
	}
}

func gpuSlice(name string, count int64, devices ...string) *resourceapi.ResourceSlice {
	sl := &resourceapi.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourceapi.ResourceSliceSpec{
		Driver: attrs.GPUDriver, NodeName: ptr.To("n1"), Pool: resourceapi.ResourcePool{Name: "n1", Generation: 1, ResourceSliceCount: count}}}
	for _, d := range devices {
		sl.Spec.Devices = append(sl.Spec.Devices, fx.WholeGPU(fx.GPU{UUID: d, NUMA: 0}))
	}
	return sl
}

// allocateOnN1 runs the allocator on list for claim on node n1 and returns
// the allocated devices, in request order.
func allocateOnN1(t *testing.T, allocator string, m *fx.Manager, list []*resourceapi.ResourceSlice, claim *resourceapi.ResourceClaim) []string {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	structured.EnableAllocators(allocator)
	defer structured.EnableAllocators()
	results := runAllocator(ctx, t, m, list, claim)
	if len(results) != 1 {
		t.Fatalf("allocate: %v", results)
	}
	var got []string
	for _, r := range results[0].Devices.Results {
		got = append(got, r.Device)
	}
	return got
}

// runAllocator runs the enabled allocator on list for the claims on node
// n1 under m's allocated state, as the upstream Filter does; nil when it
// finds no devices.
func runAllocator(ctx context.Context, t *testing.T, m *fx.Manager, list []*resourceapi.ResourceSlice, claims ...*resourceapi.ResourceClaim) []resourceapi.AllocationResult {
	t.Helper()
	a, err := structured.NewAllocator(ctx, defaultFeatures(), m.State, m.DeviceClasses(), list, cel.NewCache(10, cel.Features{}))
	if err != nil {
		t.Fatal(err)
	}
	results, err := a.Allocate(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, claims)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	return results
}

// allocateOne allocates one whole GPU on n1 from the slices and returns its
// name.
func allocateOne(t *testing.T, allocator string, list ...*resourceapi.ResourceSlice) string {
	t.Helper()
	return allocateOnN1(t, allocator, fx.NewManager(list), list, fx.Claim("c", "", fx.Request("gpu", fx.GPUClass, 1)))[0]
}

var contractAllocators = []string{"incubating", "experimental"}

func TestContractDeviceOrderWithinPoolDecides(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			forward := allocateOne(t, allocator, gpuSlice("s", 1, "0", "1", "2", "3"))
			reversed := allocateOne(t, allocator, gpuSlice("s", 1, "3", "2", "1", "0"))
			if forward != "gpu-0" || reversed != "gpu-3" {
				t.Errorf("first device of [0 1 2 3] gave %s, of [3 2 1 0] %s; want gpu-0 and gpu-3", forward, reversed)
			}
		})
	}
}

func TestContractSliceListOrderDoesNot(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			a, b := gpuSlice("a", 2, "a"), gpuSlice("b", 2, "b")
			for range 10 {
				ab, ba := allocateOne(t, allocator, a, b), allocateOne(t, allocator, b, a)
				if ab != "gpu-a" || ba != "gpu-a" {
					t.Fatalf("slice list [a b] gave %s, [b a] %s; want gpu-a for both (slices walked by name)", ab, ba)
				}
			}
		})
	}
}

func TestContractSlicesOfAPoolWalkedByName(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			// What the view produces: the pool's preference order refilled
			// over its slices by name, here the last GPU first.
			got := allocateOne(t, allocator, gpuSlice("n1-1", 2, "1", "0"), gpuSlice("n1-0", 2, "3", "2"))
			if got != "gpu-3" {
				t.Errorf("got %s, want gpu-3: the first device of the slice first by name", got)
			}
		})
	}
}

// TestContractViewSteersAllocator runs the allocator on the view: with a
// GPU allocated on NUMA node 1, the next one comes from NUMA node 1, where
// the published order would give NUMA node 0's first GPU.
func TestContractViewSteersAllocator(t *testing.T) {
	for _, allocator := range contractAllocators {
		t.Run(allocator, func(t *testing.T) {
			m, gpus := cluster()
			m.Allocate(attrs.GPUDriver, "n1", gpus[0][5].DeviceName())
			list, err := newView(t, m).ListWithDeviceTaintRules()
			if err != nil {
				t.Fatal(err)
			}
			got := allocateOnN1(t, allocator, m, list, fx.Claim("c", "", fx.Request("gpu", fx.GPUClass, 2)))
			want := []string{gpus[0][4].DeviceName(), gpus[0][6].DeviceName()}
			if !slices.Equal(got, want) {
				t.Errorf("allocated %v, want %v", got, want)
			}
		})
	}
}
