package model_test

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/dynamic-resource-allocation/structured"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// BenchmarkSnapshot measures a snapshot per pod on 500 DGX-like nodes with
// half of their GPUs allocated, where each pod's allocation changes one
// node: what HadronDynamicResources adds to every PreFilter. It includes
// the test manager's copy of the allocated state, as upstream's PreFilter
// makes one too.
func BenchmarkSnapshot(b *testing.B) {
	m := fx.NewManager()
	var gpus [][]fx.GPU
	for i := range 500 {
		g, s := fx.DGX(fmt.Sprintf("node-%03d", i))
		gpus = append(gpus, g)
		m.Slices = append(m.Slices, s...)
		for _, j := range []int{0, 1, 4, 5} {
			m.Allocate(attrs.GPUDriver, fmt.Sprintf("node-%03d", i), g[j].DeviceName())
		}
	}
	src := model.NewSource(m, fts)
	ctx := context.Background()
	if _, err := src.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}
	// Each pod allocates or frees GPU 2 of one node, so that one node
	// changes per snapshot and the allocated state keeps its size.
	ids := make([]structured.DeviceID, len(gpus))
	for i := range gpus {
		ids[i] = structured.MakeDeviceID(attrs.GPUDriver, fmt.Sprintf("node-%03d", i), gpus[i][2].DeviceName())
	}
	b.ResetTimer()
	for i := range b.N {
		if id := ids[i%len(ids)]; m.State.AllocatedDevices.Has(id) {
			m.State.AllocatedDevices.Delete(id)
		} else {
			m.State.AllocatedDevices.Insert(id)
		}
		if _, err := src.Snapshot(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
