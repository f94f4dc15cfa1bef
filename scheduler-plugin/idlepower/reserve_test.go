package idlepower

import (
	"math"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/attrs"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

// TestReserveRecordsChosenNode: the power recorded is the chosen node's,
// once per pod, not every scored node's.
func TestReserveRecordsChosenNode(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	gpusA, a := fx.SharedNode("a", 2)
	_, b := fx.SharedNode("b", 2)
	m := fx.NewManager(a, b)
	m.Share(attrs.GPUDriver, "a", gpusA[1].DeviceName(), compute(500))
	m.AddClaim(fx.Claim("share", "", fx.ShareRequest("gpu", 250)))
	pl := newTestPlugin(t, m, "")
	countBefore, sumBefore := observed(t)

	state := framework.NewCycleState()
	fx.Scores(ctx, t, pl, state, fx.Pod("share", "share"), "a", "b")
	// b wakes a GPU: its idle power, the active floor and the dynamic
	// power of the share (as TestShareGoesToActiveGPU works out).
	dynamic := (250.0 - 35) * 0.7 * 0.25 * 0.8
	want := 35 + (250-35)*0.3 + dynamic
	if st := pl.Reserve(ctx, state, fx.Pod("share", "share"), "b"); !st.IsSuccess() {
		t.Fatal(st)
	}

	count, sum := observed(t)
	if count-countBefore != 1 {
		t.Errorf("observations: %d, want 1 (the chosen node only)", count-countBefore)
	}
	if got := sum - sumBefore; math.Abs(got-want) > 1e-9 {
		t.Errorf("recorded %.2f W, want b's %.2f W", got, want)
	}
}

// observed reads the marginal power histogram's count and sum.
func observed(t *testing.T) (uint64, float64) {
	t.Helper()
	vec, err := testutil.GetHistogramVecFromGatherer(legacyregistry.DefaultGatherer, "hadron_scheduler_placement_marginal_power_watts", nil)
	if err != nil {
		t.Fatal(err)
	}
	return vec.GetAggregatedSampleCount(), vec.GetAggregatedSampleSum()
}
