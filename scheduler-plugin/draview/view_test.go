package draview

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

var testFeatures = feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true, EnableDRAPartitionableDevices: true}

// cluster is two DGX-like nodes (GPUs in slices of three, so that
// reordering moves devices between slices), a foreign driver's slice on
// each and a network-attached slice for all nodes.
func cluster() (*fx.Manager, [][]fx.GPU) {
	m := fx.NewManager()
	var all [][]fx.GPU
	for _, node := range []string{"n1", "n2"} {
		var gpus []fx.GPU
		var devices []resourceapi.Device
		for i := range 8 {
			g := fx.GPU{UUID: fmt.Sprintf("%s-%d", node, i), NUMA: i / 4, Idle: 70, Max: 700}
			gpus = append(gpus, g)
			devices = append(devices, fx.WholeGPU(g))
		}
		all = append(all, gpus)
		m.Slices = append(m.Slices, fx.Pool(attrs.GPUDriver, node, 3, nil, devices...)...)
		m.Slices = append(m.Slices, fx.Pool(attrs.CPUDriver, node, 128, nil, fx.CPU(0, 0, 64, 20, 270), fx.CPU(1, 1, 64, 20, 270))...)
		m.Slices = append(m.Slices, fx.Pool("gpu.example.com", node, 128, nil,
			resourceapi.Device{Name: "z"}, resourceapi.Device{Name: "y"}, resourceapi.Device{Name: "x"})...)
	}
	shared := fx.Pool(attrs.NICDriver, "fabric", 128, nil, fx.NIC("nic-b", 1, "p1"), fx.NIC("nic-a", 0, "p0"))
	shared[0].Spec.NodeName = nil
	shared[0].Spec.AllNodes = ptr.To(true)
	m.Slices = append(m.Slices, shared...)
	return m, all
}

func newView(t *testing.T, m *fx.Manager) *view {
	logger, _ := ktesting.NewTestContext(t)
	return &view{src: model.NewSource(m, testFeatures), logger: logger}
}

type poolKey struct{ driver, pool string }

func devicesByPool(slices []*resourceapi.ResourceSlice) map[poolKey][]string {
	out := map[poolKey][]string{}
	for _, s := range slices {
		k := poolKey{s.Spec.Driver, s.Spec.Pool.Name}
		for _, d := range s.Spec.Devices {
			out[k] = append(out[k], d.Name)
		}
	}
	return out
}

func TestViewPermutesWithinPoolsOnly(t *testing.T) {
	m, gpus := cluster()
	m.Allocate(attrs.GPUDriver, "n1", gpus[0][6].DeviceName())
	m.Share(attrs.CPUDriver, "n1", "cpu-numa1", map[resourceapi.QualifiedName]int64{attrs.CPUs: 4})
	before := make([]*resourceapi.ResourceSlice, len(m.Slices))
	for i, s := range m.Slices {
		before[i] = s.DeepCopy()
	}

	got, err := newView(t, m).ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(m.Slices) {
		t.Fatalf("view lists %d slices, the manager %d", len(got), len(m.Slices))
	}
	// The informer's objects are untouched.
	for i, s := range m.Slices {
		if !equality.Semantic.DeepEqual(before[i], s) {
			t.Fatalf("slice %s was modified:\nbefore %+v\nafter  %+v", s.Name, before[i].Spec, s.Spec)
		}
	}
	changed := 0
	for i, s := range got {
		orig := m.Slices[i]
		if s.Name != orig.Name || len(s.Spec.Devices) != len(orig.Spec.Devices) {
			t.Errorf("slice %d: %s with %d devices, want %s with %d", i, s.Name, len(s.Spec.Devices), orig.Name, len(orig.Spec.Devices))
		}
		if !reflect.DeepEqual(orig.ObjectMeta, s.ObjectMeta) {
			t.Errorf("slice %s metadata changed: %+v, was %+v", s.Name, s.ObjectMeta, orig.ObjectMeta)
		}
		if s != orig {
			changed++
			if !model.IsHadronDriver(s.Spec.Driver) || s.Spec.NodeName == nil {
				t.Errorf("slice %s of driver %s (node %v) was reordered", s.Name, s.Spec.Driver, s.Spec.NodeName)
			}
			if s.Spec.Pool != orig.Spec.Pool {
				t.Errorf("slice %s pool changed: %+v, was %+v", s.Name, s.Spec.Pool, orig.Spec.Pool)
			}
		}
	}
	if changed == 0 {
		t.Fatal("nothing was reordered")
	}
	// Same devices per pool, as a multiset.
	want, have := devicesByPool(m.Slices), devicesByPool(got)
	for k := range want {
		w, h := slices.Sorted(slices.Values(want[k])), slices.Sorted(slices.Values(have[k]))
		if !slices.Equal(w, h) {
			t.Errorf("pool %v: devices %v, want %v", k, h, w)
		}
	}
	// n1 prefers NUMA 1, where something is allocated.
	order := devicesByPool(got)[poolKey{attrs.GPUDriver, "n1"}]
	if want := gpus[0][4].DeviceName(); order[0] != want {
		t.Errorf("n1's first GPU %s, want %s; order %v", order[0], want, order)
	}
	if cpus := devicesByPool(got)[poolKey{attrs.CPUDriver, "n1"}]; cpus[0] != "cpu-numa1" {
		t.Errorf("n1's CPU order %v, want NUMA 1 first", cpus)
	}
	// n2 has nothing allocated: shown as published.
	for i, s := range got {
		if s.Spec.NodeName != nil && *s.Spec.NodeName == "n2" && s != m.Slices[i] {
			t.Errorf("slice %s of the unused node n2 was copied", s.Name)
		}
	}
}

func TestViewIsDeterministic(t *testing.T) {
	m, gpus := cluster()
	m.Allocate(attrs.GPUDriver, "n2", gpus[1][5].DeviceName())
	first, err := newView(t, m).ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	// A fresh model, and the slices listed in another order.
	slices.Reverse(m.Slices)
	second, err := newView(t, m).ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := devicesInSliceOrder(first), devicesInSliceOrder(second); !reflect.DeepEqual(a, b) {
		t.Errorf("two views differ:\n%v\n%v", a, b)
	}
}

// devicesInSliceOrder lists each slice's devices by slice name.
func devicesInSliceOrder(list []*resourceapi.ResourceSlice) map[string][]string {
	out := map[string][]string{}
	for _, s := range list {
		for _, d := range s.Spec.Devices {
			out[s.Name] = append(out[s.Name], d.Name)
		}
	}
	return out
}

func TestViewLeavesIncompletePoolsAlone(t *testing.T) {
	m, gpus := cluster()
	m.Allocate(attrs.GPUDriver, "n1", gpus[0][6].DeviceName())
	// n1's GPU pool is being republished: one slice of generation 2.
	for _, s := range m.Slices {
		if s.Spec.Driver == attrs.GPUDriver && *s.Spec.NodeName == "n1" && s.Name == "n1-gpu.hadron.dev-0" {
			s.Spec.Pool.Generation = 2
		}
	}
	got, err := newView(t, m).ListWithDeviceTaintRules()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got {
		if s.Spec.Driver == attrs.GPUDriver && *s.Spec.NodeName == "n1" && s != m.Slices[i] {
			t.Errorf("slice %s of an incomplete pool was reordered", s.Name)
		}
	}
}

func TestViewRecordsSnapshot(t *testing.T) {
	m, _ := cluster()
	v := newView(t, m)
	mark := v.mark()
	if v.since(mark) != nil {
		t.Fatal("snapshot before any listing")
	}
	if _, err := v.ListWithDeviceTaintRules(); err != nil {
		t.Fatal(err)
	}
	if snap := v.since(mark); snap == nil || snap.Nodes["n1"] == nil {
		t.Fatalf("no snapshot of n1 after listing: %+v", snap)
	}
}
