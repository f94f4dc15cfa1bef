package model_test

import (
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// dgxWithSharedNode is n1, a DGX-like node, and n2, a node of two shared
// GPUs.
func dgxWithSharedNode() (*fx.Manager, []fx.GPU, []fx.GPU) {
	dgx, n1 := fx.DGX("n1")
	shared, n2 := fx.SharedNode("n2", 2)
	return fx.NewManager(n1, n2), dgx, shared
}

func TestUnsatisfiable(t *testing.T) {
	fallback := resourceapi.DeviceRequest{Name: "either", FirstAvailable: []resourceapi.DeviceSubRequest{
		{Name: "four", DeviceClassName: fx.GPUClass, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 4},
		{Name: "one", DeviceClassName: fx.GPUClass, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1},
	}}
	onlyChoice := resourceapi.DeviceRequest{Name: "only", FirstAvailable: fallback.FirstAvailable[:1]}
	all := fx.Request("all", fx.GPUClass, 0)
	all.Exactly.AllocationMode = resourceapi.DeviceAllocationModeAll
	fraction := fx.ShareRequest("share", 0)
	fraction.Exactly.Capacity.Requests[attrs.GPUCompute] = resource.MustParse("600500m")
	cases := []struct {
		name string
		// allocate changes the allocated state of the nodes.
		allocate func(m *fx.Manager, dgx, shared []fx.GPU)
		node     string
		request  resourceapi.DeviceRequest
		want     string // the unsatisfiable request, "" for none
	}{
		{name: "free GPUs suffice", node: "n1", request: fx.Request("gpu", fx.GPUClass, 8)},
		{name: "more GPUs than the node has", node: "n1", request: fx.Request("gpu", fx.GPUClass, 9), want: "default/c/gpu"},
		{
			name: "allocated GPUs do not count", node: "n1", request: fx.Request("gpu", fx.GPUClass, 7), want: "default/c/gpu",
			allocate: func(m *fx.Manager, dgx, _ []fx.GPU) {
				m.Allocate(attrs.GPUDriver, "n1", dgx[0].DeviceName())
				m.Allocate(attrs.GPUDriver, "n1", dgx[5].DeviceName())
			},
		},
		{
			name: "selectors narrow the candidates", node: "n1", want: "default/c/gpu",
			request: fx.Request("gpu", fx.GPUClass, 5, `device.attributes["resource.kubernetes.io"].numaNode == 0`),
		},
		{name: "no device of the class", node: "n2", request: fx.Request("gpu", fx.GPUClass, 1), want: "default/c/gpu"},
		{name: "share fits a free shared GPU", node: "n2", request: fx.ShareRequest("share", 1000)},
		{
			name: "share larger than what is left", node: "n2", request: fx.ShareRequest("share", 600), want: "default/c/share",
			allocate: func(m *fx.Manager, _, shared []fx.GPU) {
				for _, g := range shared {
					m.Share(attrs.GPUDriver, "n2", g.DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 500})
				}
			},
		},
		{
			name: "share that fits what is left", node: "n2", request: fx.ShareRequest("share", 500),
			allocate: func(m *fx.Manager, _, shared []fx.GPU) {
				m.Share(attrs.GPUDriver, "n2", shared[1].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 500})
			},
		},
		{
			// The policy would round 600.5 up to 650; the check does not.
			name: "fractional request left to the allocator", node: "n2", request: fraction,
			allocate: func(m *fx.Manager, _, shared []fx.GPU) {
				for _, g := range shared {
					m.Share(attrs.GPUDriver, "n2", g.DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 500})
				}
			},
		},
		{name: "CPUs beyond any NUMA node's", node: "n1", request: fx.CPURequest("cpus", 113), want: "default/c/cpus"},
		{name: "CPUs of one NUMA node", node: "n1", request: fx.CPURequest("cpus", 112)},
		{name: "prioritized list with alternatives not judged", node: "n1", request: fallback,
			allocate: func(m *fx.Manager, dgx, _ []fx.GPU) {
				for _, g := range dgx[:6] {
					m.Allocate(attrs.GPUDriver, "n1", g.DeviceName())
				}
			},
		},
		{name: "prioritized list of one choice judged", node: "n1", request: onlyChoice, want: "default/c/only/four",
			allocate: func(m *fx.Manager, dgx, _ []fx.GPU) {
				for _, g := range dgx[:6] {
					m.Allocate(attrs.GPUDriver, "n1", g.DeviceName())
				}
			},
		},
		{name: "all devices not judged", node: "n2", request: all},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			m, dgx, shared := dgxWithSharedNode()
			if tc.allocate != nil {
				tc.allocate(m, dgx, shared)
			}
			m.AddClaim(fx.Claim("c", "", tc.request))
			src := model.NewSource(m, fts)
			demand := src.PodDemand(ctx, fx.Pod("p", "c"))
			if !demand.Complete || len(demand.Requests) != 1 {
				t.Fatalf("demand %+v: want one request of a complete demand", demand)
			}
			snap, err := src.SnapshotFor(ctx, demand)
			if err != nil {
				t.Fatal(err)
			}
			got, err := snap.Nodes[tc.node].Unsatisfiable(ctx, demand)
			if err != nil || got != tc.want {
				t.Errorf("Unsatisfiable = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestUnsatisfiableWithoutDevices(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	m, _, _ := dgxWithSharedNode()
	m.AddClaim(fx.Claim("c", "", fx.Request("gpu", fx.GPUClass, 1)))
	demand := model.NewSource(m, fts).PodDemand(ctx, fx.Pod("p", "c"))
	var none *model.Node
	if got, err := none.Unsatisfiable(ctx, demand); got != "default/c/gpu" || err != nil {
		t.Errorf("node without devices: %q, %v; want the request", got, err)
	}
}

func TestDemandComplete(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	m, _, _ := dgxWithSharedNode()
	m.AddClaim(fx.Claim("free", "", fx.Request("gpu", fx.GPUClass, 1)))
	allocated := fx.Claim("taken", "", fx.Request("gpu", fx.GPUClass, 1))
	allocated.Status.Allocation = &resourceapi.AllocationResult{}
	m.AddClaim(allocated)
	src := model.NewSource(m, fts)
	cases := []struct {
		name   string
		claims []string
		want   bool
	}{
		{"unallocated claims", []string{"free"}, true},
		{"an allocated claim", []string{"free", "taken"}, false},
		{"a missing claim", []string{"free", "missing"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := src.PodDemand(ctx, fx.Pod("p", tc.claims...)).Complete; got != tc.want {
				t.Errorf("Complete = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSnapshotExhaustive(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cases := []struct {
		name  string
		extra *resourceapi.ResourceSlice
		want  bool
	}{
		{name: "hadron pools only", want: true},
		{name: "another driver's devices", extra: &resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{
			Driver: "gpu.example.com", NodeName: ptr.To("n1"), Pool: resourceapi.ResourcePool{Name: "n1", ResourceSliceCount: 1},
			Devices: []resourceapi.Device{{Name: "x"}}}}},
		{name: "a network-attached hadron pool", extra: &resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{
			Driver: attrs.NICDriver, AllNodes: ptr.To(true), Pool: resourceapi.ResourcePool{Name: "fabric", ResourceSliceCount: 1},
			Devices: []resourceapi.Device{fx.NIC("nic-x", 0, "")}}}},
		{name: "an incomplete hadron pool", extra: &resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{
			Driver: attrs.GPUDriver, NodeName: ptr.To("n3"), Pool: resourceapi.ResourcePool{Name: "n3", ResourceSliceCount: 2},
			Devices: []resourceapi.Device{fx.WholeGPU(fx.GPU{UUID: "n3-0"})}}}},
		{name: "another driver's counters only", want: true, extra: &resourceapi.ResourceSlice{Spec: resourceapi.ResourceSliceSpec{
			Driver: "gpu.example.com", NodeName: ptr.To("n1"), Pool: resourceapi.ResourcePool{Name: "n1", ResourceSliceCount: 1},
			SharedCounters: []resourceapi.CounterSet{{Name: "c"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := dgxWithSharedNode()
			if tc.extra != nil {
				m.Slices = append(m.Slices, tc.extra)
			}
			snap, err := model.NewSource(m, fts).Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Exhaustive != tc.want {
				t.Errorf("Exhaustive = %v, want %v", snap.Exhaustive, tc.want)
			}
		})
	}
}
