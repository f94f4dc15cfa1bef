package draview

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// allocates says whether the allocator finds devices for the claims on
// n1, as the upstream Filter asks it.
func allocates(t *testing.T, m *fx.Manager, claims []*resourceapi.ResourceClaim) bool {
	t.Helper()
	// The allocator logs every step at high verbosity: quiet here.
	return len(runAllocator(context.Background(), t, m, m.Slices, claims...)) == len(claims)
}

// Kinds of random test nodes.
const (
	dgxNode = iota
	sharedNode
	migNode
)

// randomNode publishes n1 as a DGX, a node of shared GPUs or one of MIG
// GPUs (with CPUs), and allocates a random part of it.
func randomNode(rng *rand.Rand, kind int) *fx.Manager {
	var m *fx.Manager
	switch kind {
	case dgxNode:
		gpus, sl := fx.DGX("n1")
		m = fx.NewManager(sl)
		for _, g := range gpus {
			if rng.IntN(2) == 0 {
				m.Allocate(attrs.GPUDriver, "n1", g.DeviceName())
			}
		}
	case sharedNode:
		gpus, sl := fx.SharedNode("n1", 4)
		m = fx.NewManager(sl, fx.Pool(attrs.CPUDriver, "n1", 8, nil, fx.CPU(0, 0, 32, 0, 0)))
		for _, g := range gpus {
			if share := 50 * rng.Int64N(21); share > 0 {
				m.Share(attrs.GPUDriver, "n1", g.DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: share})
			}
		}
	default:
		gpus, sl := fx.MIGNode("n1", 2)
		m = fx.NewManager(sl, fx.Pool(attrs.CPUDriver, "n1", 8, nil, fx.CPU(0, 0, 32, 0, 0)))
		for _, g := range gpus {
			if rng.IntN(3) == 0 {
				p := fx.A100Profiles[rng.IntN(len(fx.A100Profiles))]
				m.Allocate(attrs.GPUDriver, "n1", fx.MIGDeviceName(g, p, p.Starts[rng.IntN(len(p.Starts))]))
			}
		}
	}
	if cpus := rng.Int64N(40); cpus > 0 {
		m.Share(attrs.CPUDriver, "n1", "cpu-numa0", map[resourceapi.QualifiedName]int64{attrs.CPUs: cpus})
	}
	return m
}

// randomRequest is one request of a class the node offers, or now and
// then of one it does not.
func randomRequest(rng *rand.Rand, kind int, name string) resourceapi.DeviceRequest {
	classes := map[int][]string{
		dgxNode:    {fx.GPUClass, fx.CPUClass, fx.NICClass},
		sharedNode: {fx.SharedClass, fx.CPUClass},
		migNode:    {fx.MIGClass, fx.GPUClass, fx.CPUClass},
	}[kind]
	class := classes[rng.IntN(len(classes))]
	if rng.IntN(10) == 0 {
		class = []string{fx.GPUClass, fx.SharedClass, fx.MIGClass, fx.CPUClass, fx.NICClass}[rng.IntN(5)]
	}
	switch class {
	case fx.GPUClass:
		return fx.Request(name, fx.GPUClass, 1+rng.Int64N(4))
	case fx.SharedClass:
		return fx.ShareRequest(name, 100+50*rng.Int64N(19))
	case fx.CPUClass:
		return fx.CPURequest(name, 1+rng.Int64N(40))
	case fx.NICClass:
		return fx.Request(name, fx.NICClass, 1+rng.Int64N(3))
	default:
		p := fx.A100Profiles[rng.IntN(len(fx.A100Profiles))]
		return fx.Request(name, fx.MIGClass, 1+rng.Int64N(2),
			fmt.Sprintf(`device.attributes["%s"].%s == %q`, attrs.GPUDriver, "migProfile", p.Name))
	}
}

// TestUnsatisfiableNeverRejectsWhatTheAllocatorPlaces checks the
// shortcut's one promise on random nodes and pods: when it calls a node
// unable to serve a pod, the real allocator finds no devices there
// either.
func TestUnsatisfiableNeverRejectsWhatTheAllocatorPlaces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rejected, failed int
	for i := range 400 {
		kind := rng.IntN(3)
		m := randomNode(rng, kind)
		var claims []*resourceapi.ResourceClaim
		pod := fx.Pod(fmt.Sprintf("p%d", i))
		for c := range 1 + rng.IntN(2) {
			if c > 0 && rng.IntN(2) == 0 {
				break
			}
			var requests []resourceapi.DeviceRequest
			for r := range 1 + rng.IntN(2) {
				requests = append(requests, randomRequest(rng, kind, fmt.Sprintf("r%d", r)))
			}
			claim := fx.Claim(fmt.Sprintf("c%d", c), "", requests...)
			m.AddClaim(claim)
			claims = append(claims, claim)
			pod.Spec.ResourceClaims = append(pod.Spec.ResourceClaims, v1.PodResourceClaim{Name: claim.Name, ResourceClaimName: ptr.To(claim.Name)})
		}
		_, ctx := ktesting.NewTestContext(t)
		src := model.NewSource(m, testFeatures)
		demand := src.PodDemand(ctx, pod)
		snap, err := src.SnapshotFor(ctx, demand)
		if err != nil {
			t.Fatal(err)
		}
		if !snap.Exhaustive || !demand.Complete {
			t.Fatalf("case %d: snapshot exhaustive %v, demand complete %v; want both", i, snap.Exhaustive, demand.Complete)
		}
		request, err := snap.Nodes["n1"].Unsatisfiable(ctx, demand)
		if err != nil {
			t.Fatal(err)
		}
		ok := allocates(t, m, claims)
		if request != "" && ok {
			t.Errorf("case %d: %s called unsatisfiable, but the allocator places the pod", i, request)
		}
		if request != "" {
			rejected++
		}
		if !ok {
			failed++
		}
	}
	// The check must be worth running: most pods the allocator cannot
	// place here are rejected without it.
	t.Logf("%d of %d pods rejected early; the allocator refused %d", rejected, 400, failed)
	if rejected < failed/2 {
		t.Errorf("only %d of the %d pods the allocator refuses were rejected early", rejected, failed)
	}
}

// TestFilterShortcutOnlyWhenSafe: the shortcut answers only for a complete
// demand on an exhaustive snapshot; otherwise the upstream Filter decides.
func TestFilterShortcutOnlyWhenSafe(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, sl := fx.DGX("n1")
	m := fx.NewManager(sl)
	m.AddClaim(fx.Claim("c", "", fx.Request("gpu", fx.GPUClass, 9)))
	src := model.NewSource(m, testFeatures)
	pl := &Plugin{view: &view{src: src}, fts: testFeatures}
	demand := src.PodDemand(ctx, fx.Pod("p", "c"))
	snap, err := src.SnapshotFor(ctx, demand)
	if err != nil {
		t.Fatal(err)
	}
	resized := fx.Pod("p", "c")
	resized.Status.Conditions = []v1.PodCondition{{Type: v1.PodResizePending, Status: v1.ConditionTrue, Reason: v1.PodReasonDeferred}}
	incomplete := *demand
	incomplete.Complete = false
	partial := *snap
	partial.Exhaustive = false
	resizeFeatures := testFeatures
	resizeFeatures.EnableInPlacePodVerticalScalingSchedulerPreemption = true
	cases := []struct {
		name   string
		pl     *Plugin
		pod    *v1.Pod
		snap   *model.Snapshot
		demand *model.Demand
		node   string
		want   string
	}{
		{name: "too many GPUs", pl: pl, pod: fx.Pod("p", "c"), snap: snap, demand: demand, node: "n1", want: "default/c/gpu"},
		{name: "node without devices", pl: pl, pod: fx.Pod("p", "c"), snap: snap, demand: demand, node: "n9", want: "default/c/gpu"},
		{name: "no snapshot", pl: pl, pod: fx.Pod("p", "c"), demand: demand, node: "n1"},
		{name: "snapshot not exhaustive", pl: pl, pod: fx.Pod("p", "c"), snap: &partial, demand: demand, node: "n1"},
		{name: "demand not complete", pl: pl, pod: fx.Pod("p", "c"), snap: snap, demand: &incomplete, node: "n1"},
		{name: "without the view", pl: &Plugin{fts: testFeatures}, pod: fx.Pod("p", "c"), snap: snap, demand: demand, node: "n1"},
		{name: "resize deferred", pl: &Plugin{view: pl.view, fts: resizeFeatures}, pod: resized, snap: snap, demand: demand, node: "n1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := framework.NewCycleState()
			if tc.snap != nil {
				model.WriteSnapshot(cs, tc.snap, tc.demand)
			}
			ni := framework.NewNodeInfo()
			ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: tc.node}})
			if got := tc.pl.unsatisfiable(ctx, cs, tc.pod, ni); got != tc.want {
				t.Errorf("unsatisfiable = %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkFullNode compares, on a DGX whose GPUs are all allocated, what
// the upstream allocator and the shortcut each cost to turn a one-GPU pod
// away: the shortcut's saving per node when a pod fits nowhere.
func BenchmarkFullNode(b *testing.B) {
	ctx := context.Background()
	gpus, sl := fx.DGX("n1")
	m := fx.NewManager(sl)
	for _, g := range gpus {
		m.Allocate(attrs.GPUDriver, "n1", g.DeviceName())
	}
	claim := fx.Claim("c", "", fx.Request("gpu", fx.GPUClass, 1))
	m.AddClaim(claim)
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	b.Run("allocator", func(b *testing.B) {
		a, err := structured.NewAllocator(ctx, defaultFeatures(), m.State, m.DeviceClasses(), m.Slices, cel.NewCache(10, cel.Features{}))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if results, err := a.Allocate(ctx, node, []*resourceapi.ResourceClaim{claim}); err != nil || results != nil {
				b.Fatalf("allocated %v, %v on a full node", results, err)
			}
		}
	})
	b.Run("shortcut", func(b *testing.B) {
		src := model.NewSource(m, testFeatures)
		demand := src.PodDemand(ctx, fx.Pod("p", "c"))
		snap, err := src.SnapshotFor(ctx, demand)
		if err != nil {
			b.Fatal(err)
		}
		n := snap.Nodes["n1"]
		for b.Loop() {
			if request, err := n.Unsatisfiable(ctx, demand); request == "" || err != nil {
				b.Fatalf("full node not rejected: %q, %v", request, err)
			}
		}
	})
}
