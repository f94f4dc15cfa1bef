package scoring_test

import (
	"testing"

	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// TestPrepareUsesRecordedDemand: the score plugins evaluate the snapshot
// HadronDynamicResources recorded with the demand it was ordered for,
// rather than reading the pod's claims again; without a recorded snapshot
// they read the claims themselves.
func TestPrepareUsesRecordedDemand(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, slices := fx.DGX("a")
	m := fx.NewManager(slices)
	m.AddClaim(fx.Claim("two", "", fx.Request("gpu", fx.GPUClass, 2)))
	pod := fx.Pod("two", "two")
	src := (&model.Shared{}).For(m, feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true})
	demand := src.PodDemand(ctx, pod)
	snap, err := src.SnapshotFor(ctx, demand)
	if err != nil {
		t.Fatal(err)
	}

	recorded := framework.NewCycleState()
	model.WriteSnapshot(recorded, snap, demand)
	if st := scoring.Prepare(ctx, recorded, pod, src); st == nil || st.Snapshot != snap || st.Demand != demand {
		t.Errorf("with a recorded snapshot: state %+v, want that snapshot and its demand", st)
	}

	st := scoring.Prepare(ctx, framework.NewCycleState(), pod, src)
	if st == nil || st.Snapshot == nil || st.Demand == demand || len(st.Demand.Requests) != 1 || st.Demand.Requests[0].Count != 2 {
		t.Errorf("without a recorded snapshot: state %+v, want the pod's 2-GPU request read afresh", st)
	}
}
