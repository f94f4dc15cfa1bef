package numaaffinity

import (
	"testing"

	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// TestReserveCountsAlignment: a pod whose GPUs fit one NUMA node counts
// as aligned, one that needs both of a DGX's NUMA nodes as unaligned,
// whether or not the node was scored (one feasible node is not).
func TestReserveCountsAlignment(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, a := fx.DGX("a")
	_, b := fx.DGX("b")
	m := fx.NewManager(a, b)
	m.AddClaim(fx.Claim("pair", "", fx.Request("gpus", fx.GPUClass, 2)))
	m.AddClaim(fx.Claim("six", "", fx.Request("gpus", fx.GPUClass, 6)))
	pl := newTestPlugin(t, m)
	count := func(result string) float64 {
		v, err := testutil.GetCounterMetricValue(schedmetrics.NUMAPlacements.WithLabelValues(result))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	aligned, unaligned := count(schedmetrics.Aligned), count(schedmetrics.Unaligned)

	scored := framework.NewCycleState()
	fx.Scores(ctx, t, pl, scored, fx.Pod("pair", "pair"), "a", "b")
	if st := pl.Reserve(ctx, scored, fx.Pod("pair", "pair"), "b"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Reserve(ctx, framework.NewCycleState(), fx.Pod("six", "six"), "a"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Reserve(ctx, framework.NewCycleState(), fx.Pod("plain"), "a"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if got := count(schedmetrics.Aligned) - aligned; got != 1 {
		t.Errorf("aligned placements counted: %v, want 1", got)
	}
	if got := count(schedmetrics.Unaligned) - unaligned; got != 1 {
		t.Errorf("unaligned placements counted: %v, want 1", got)
	}
}
