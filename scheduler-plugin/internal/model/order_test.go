package model_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

var fts = feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true, EnableDRAPartitionableDevices: true}

func snapshot(t *testing.T, m *fx.Manager) *model.Snapshot {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	snap, err := model.NewSource(m, fts).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// names lists a node's devices of a driver in the order the allocator sees
// them.
func names(n *model.Node, driver string) []string {
	var out []string
	for _, di := range n.Order() {
		if d := &n.Devices[di]; d.Driver == driver {
			out = append(out, d.Name)
		}
	}
	return out
}

func TestOrderPacksPartlyUsedNUMANode(t *testing.T) {
	gpus, n1Slices := fx.DGX("n1")
	m := fx.NewManager(n1Slices)
	m.Allocate(attrs.GPUDriver, "n1", gpus[5].DeviceName())
	n := snapshot(t, m).Nodes["n1"]
	want := []string{gpus[4].DeviceName(), gpus[6].DeviceName(), gpus[7].DeviceName(),
		gpus[0].DeviceName(), gpus[1].DeviceName(), gpus[2].DeviceName(), gpus[3].DeviceName(), gpus[5].DeviceName()}
	if got := names(n, attrs.GPUDriver); !slices.Equal(got, want) {
		t.Errorf("GPU order\n got %v\nwant %v", got, want)
	}
	if got, want := names(n, attrs.CPUDriver), []string{"cpu-numa1", "cpu-numa0"}; !slices.Equal(got, want) {
		t.Errorf("CPU order %v, want %v", got, want)
	}
	if got, want := names(n, attrs.NICDriver), []string{"nic-4", "nic-5", "nic-0", "nic-1"}; !slices.Equal(got, want) {
		t.Errorf("NIC order %v, want %v", got, want)
	}
}

func TestOrderUnusedNodeKeepsPublishedOrder(t *testing.T) {
	_, n1Slices := fx.DGX("n1")
	m := fx.NewManager(n1Slices)
	snap := snapshot(t, m)
	for i, s := range snap.Slices {
		if s != m.Slices[i] {
			t.Errorf("slice %s copied although nothing is allocated", s.Name)
		}
	}
}

func TestOrderFullerNUMANodeFirst(t *testing.T) {
	gpus, n1Slices := fx.DGX("n1")
	m := fx.NewManager(n1Slices)
	// NUMA 0 has one free GPU left, NUMA 1 three: fill NUMA 0 first.
	for _, i := range []int{0, 1, 2, 4} {
		m.Allocate(attrs.GPUDriver, "n1", gpus[i].DeviceName())
	}
	got := names(snapshot(t, m).Nodes["n1"], attrs.GPUDriver)
	if got[0] != gpus[3].DeviceName() {
		t.Errorf("first GPU %s, want %s (the last free one of the fuller NUMA node); order %v", got[0], gpus[3].DeviceName(), got)
	}
}

func TestOrderSharedGPUsBestFit(t *testing.T) {
	var devices []resourceapi.Device
	var gpus []fx.GPU
	for i := range 3 {
		g := fx.GPU{UUID: fmt.Sprintf("s%d", i), NUMA: 0, Idle: 35, Max: 250}
		gpus = append(gpus, g)
		devices = append(devices, fx.SharedGPU(g))
	}
	m := fx.NewManager(fx.Pool(attrs.GPUDriver, "ws", 64, nil, devices...))
	// GPU 2 has 750 free, GPU 1 250 free, GPU 0 is idle.
	m.Share(attrs.GPUDriver, "ws", gpus[2].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 250})
	m.Share(attrs.GPUDriver, "ws", gpus[1].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 500})
	m.Share(attrs.GPUDriver, "ws", gpus[1].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 250})
	want := []string{gpus[1].DeviceName(), gpus[2].DeviceName(), gpus[0].DeviceName()}
	if got := names(snapshot(t, m).Nodes["ws"], attrs.GPUDriver); !slices.Equal(got, want) {
		t.Errorf("shared GPU order %v, want %v (least room that fits first, idle last)", got, want)
	}
}

func TestOrderMIG(t *testing.T) {
	a := fx.GPU{UUID: "a", NUMA: 0, Idle: 50, Max: 400}
	b := fx.GPU{UUID: "b", NUMA: 0, Idle: 50, Max: 400}
	setA, devA := fx.MIGGPU(a, fx.A100Profiles)
	setB, devB := fx.MIGGPU(b, fx.A100Profiles)
	m := fx.NewManager(fx.Pool(attrs.GPUDriver, "mig", 64, []resourceapi.CounterSet{setA, setB}, append(devA, devB...)...))

	// On an idle GPU, the first 1g placement is the one that keeps the
	// 4g (slices 0-3) and a 3g possible: the last one.
	first1g := func(n *model.Node) string {
		for _, di := range n.Order() {
			d := &n.Devices[di]
			if d.Kind == model.KindMIG && d.MIGCompute == 1 && n.IsUsable(di) {
				return d.Name
			}
		}
		return ""
	}
	oneG := fx.A100Profiles[0]
	if got, want := first1g(snapshot(t, m).Nodes["mig"]), fx.MIGDeviceName(a, oneG, 6); got != want {
		t.Errorf("first 1g on idle GPUs: %s, want %s", got, want)
	}

	// With a 1g on GPU b, b's partitions come before a's.
	m.Allocate(attrs.GPUDriver, "mig", fx.MIGDeviceName(b, oneG, 6))
	n := snapshot(t, m).Nodes["mig"]
	// Any 1g at slices 4 or 5 keeps b's 4g possible; one at 0-3 would not.
	if got := first1g(n); got != fx.MIGDeviceName(b, oneG, 4) && got != fx.MIGDeviceName(b, oneG, 5) {
		t.Errorf("first 1g with GPU b active: %s, want b's at slice 4 or 5", got)
	}
	// The whole-GPU device of the active GPU is unusable, a's comes
	// after every usable partition.
	order := names(n, attrs.GPUDriver)
	if i, j := slices.Index(order, a.DeviceName()), slices.Index(order, fx.MIGDeviceName(a, oneG, 6)); i < j {
		t.Errorf("whole GPU a at %d before its partitions at %d", i, j)
	}
}

func TestPlaceAligned(t *testing.T) {
	gpus, n1Slices := fx.DGX("n1")
	m := fx.NewManager(n1Slices)
	for _, i := range []int{0, 1, 4} {
		m.Allocate(attrs.GPUDriver, "n1", gpus[i].DeviceName())
	}
	_, ctx := ktesting.NewTestContext(t)
	src := model.NewSource(m, fts)
	m.AddClaim(fx.Claim("train", resourceapi.FullyQualifiedName(attrs.NUMANode), fx.Request("gpus", fx.GPUClass, 3), fx.CPURequest("cpus", 8)))
	d := src.PodDemand(ctx, fx.Pod("train", "train"))
	snap, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := snap.Nodes["n1"].Place(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if p.Missing != 0 {
		t.Fatalf("missing %d devices", p.Missing)
	}
	for _, pick := range p.Picks {
		if dev := p.Node.Devices[pick.Device]; dev.NUMA != 1 {
			t.Errorf("picked %s on NUMA node %d, want 1 (NUMA 0 has only 2 free GPUs)", dev.Name, dev.NUMA)
		}
	}
	if len(p.Picks) != 4 {
		t.Errorf("picked %d devices, want 4", len(p.Picks))
	}
}

func TestSnapshotReusesUnchangedNodes(t *testing.T) {
	gpus, n1Slices := fx.DGX("n1")
	_, n2Slices := fx.DGX("n2")
	m := fx.NewManager(n1Slices, n2Slices)
	_, ctx := ktesting.NewTestContext(t)
	src := model.NewSource(m, fts)
	first, err := src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Allocate(attrs.GPUDriver, "n1", gpus[0].DeviceName())
	second, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Nodes["n2"] != second.Nodes["n2"] {
		t.Error("unchanged node n2 was rebuilt")
	}
	if first.Nodes["n1"] == second.Nodes["n1"] {
		t.Error("node n1 was reused although an allocation changed")
	}
	if first.Nodes["n1"].Inventory != second.Nodes["n1"].Inventory {
		t.Error("devices of n1 were rebuilt although its slices did not change")
	}
}
