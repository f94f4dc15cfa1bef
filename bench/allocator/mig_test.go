// Package allocator benchmarks the upstream structured allocator (the code
// kube-scheduler's DynamicResources plugin runs) on the devices hadron
// publishes.
package allocator

import (
	"context"
	"fmt"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/structured"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/driver/gpu"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

const nodes = 100

type classes map[string]*resourceapi.DeviceClass

func (c classes) List() ([]*resourceapi.DeviceClass, error) {
	var out []*resourceapi.DeviceClass
	for _, dc := range c {
		out = append(out, dc)
	}
	return out, nil
}

func (c classes) Get(name string) (*resourceapi.DeviceClass, error) {
	if dc, ok := c[name]; ok {
		return dc, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("deviceclasses"), name)
}

func loadClasses(t testing.TB) classes {
	t.Helper()
	out := classes{}
	for _, name := range []string{"gpu.hadron.dev", "mig.gpu.hadron.dev", "shared.gpu.hadron.dev"} {
		raw, err := deploy.DeviceClasses.ReadFile("deviceclasses/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var dc resourceapi.DeviceClass
		if err := yaml.UnmarshalStrict(raw, &dc); err != nil {
			t.Fatal(err)
		}
		out[dc.Name] = &dc
	}
	return out
}

// cluster returns the ResourceSlices of nodes DGX H100s with their GPUs in
// the given mode, as their drivers publish them, and the Node objects.
func cluster(t testing.TB, mode config.Mode) ([]*resourceapi.ResourceSlice, []*v1.Node) {
	t.Helper()
	m, err := simhw.Load("dgxh100")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := m.WriteSysfs(root); err != nil {
		t.Fatal(err)
	}
	var slices []*resourceapi.ResourceSlice
	var nodeObjs []*v1.Node
	for i := 0; i < nodes; i++ {
		name := fmt.Sprintf("dgxh100-%03d", i)
		lib, err := m.NewSimulatedNVML(name)
		if err != nil {
			t.Fatal(err)
		}
		if ret := lib.Init(); ret != nvml.SUCCESS {
			t.Fatal(nvml.ErrorString(ret))
		}
		for g := range m.GPUs {
			if err := lib.SetMIGMode(g, mode == config.ModeMIG); err != nil {
				t.Fatal(err)
			}
		}
		res, err := gpu.NewFamily(name, lib, root, config.Default(mode)).Resources(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range nodeplugin.RenderSlices(attrs.GPUDriver, name, res) {
			slices = append(slices, &s)
		}
		nodeObjs = append(nodeObjs, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	return slices, nodeObjs
}

// claim asks for one device of class matching expr.
func claim(class, expr string) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "mig", Namespace: "bench", UID: "claim-1"},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{{
			Name: "mig",
			Exactly: &resourceapi.ExactDeviceRequest{
				DeviceClassName: class,
				// What the API server defaults.
				AllocationMode: resourceapi.DeviceAllocationModeExactCount,
				Count:          1,
				Selectors:      []resourceapi.DeviceSelector{{CEL: &resourceapi.CELDeviceSelector{Expression: expr}}},
			},
		}}}},
	}
}

func newAllocator(t testing.TB, slices []*resourceapi.ResourceSlice) structured.Allocator {
	t.Helper()
	features := structured.Features{PartitionableDevices: true, ConsumableCapacity: true, DeviceTaints: true, PrioritizedList: true, AdminAccess: true}
	state := structured.AllocatedState{
		AllocatedDevices:         sets.New[structured.DeviceID](),
		AllocatedSharedDeviceIDs: sets.New[structured.SharedDeviceID](),
		AggregatedCapacity:       structured.NewConsumedCapacityCollection(),
	}
	a, err := structured.NewAllocator(context.Background(), features, state, loadClasses(t), slices,
		cel.NewCache(100, cel.Features{EnableConsumableCapacity: true}))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func migClaim() *resourceapi.ResourceClaim {
	return claim("mig.gpu.hadron.dev", `device.attributes["gpu.hadron.dev"].migProfile == "1g.10gb"`)
}

func wholeClaim() *resourceapi.ResourceClaim {
	return claim("gpu.hadron.dev", `device.attributes["gpu.hadron.dev"].architecture == "Hopper"`)
}

// TestMIGClaimAllocates checks the benchmark's set-up: every node can take
// the claim, with a 1g.10gb partition.
func TestMIGClaimAllocates(t *testing.T) {
	slices, nodeObjs := cluster(t, config.ModeMIG)
	a := newAllocator(t, slices)
	for _, node := range nodeObjs[:3] {
		results, err := a.Allocate(context.Background(), node, []*resourceapi.ResourceClaim{migClaim()})
		if err != nil || len(results) != 1 {
			t.Fatalf("%s: %v %v", node.Name, results, err)
		}
		r := results[0].Devices.Results[0]
		if r.Pool != node.Name {
			t.Fatalf("allocated %s/%s for node %s", r.Pool, r.Device, node.Name)
		}
	}
}

// BenchmarkMIGClaim100Nodes is one scheduling attempt's allocation work for
// a 1g.10gb claim: the allocator tried on each of 100 DGX H100 nodes in
// MIG mode (8 counter sets and 232 devices per node: each GPU whole and
// in its 28 MIG placements).
func BenchmarkMIGClaim100Nodes(b *testing.B) {
	benchmarkAllocate(b, config.ModeMIG, migClaim())
}

// BenchmarkWholeGPUClaim100Nodes is the baseline: a one-GPU claim on the
// same nodes with whole GPUs (8 devices per node, no counters).
func BenchmarkWholeGPUClaim100Nodes(b *testing.B) {
	benchmarkAllocate(b, config.ModeWhole, wholeClaim())
}

func benchmarkAllocate(b *testing.B, mode config.Mode, c *resourceapi.ResourceClaim) {
	slices, nodeObjs := cluster(b, mode)
	a := newAllocator(b, slices)
	claims := []*resourceapi.ResourceClaim{c}
	ctx := context.Background()
	for b.Loop() {
		for _, node := range nodeObjs {
			if results, err := a.Allocate(ctx, node, claims); err != nil || len(results) != 1 {
				b.Fatalf("%s: %v %v", node.Name, results, err)
			}
		}
	}
}
