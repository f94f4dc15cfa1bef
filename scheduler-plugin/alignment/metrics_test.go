package alignment

import (
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/attrs"
	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

// TestRejectionsCounted: each node filtered out is counted, a node that
// passes is not.
func TestRejectionsCounted(t *testing.T) {
	pod, c := trainPod("train-0", reqs(request("gpus", gpuClass, 5)), match(attrs.NUMANode, "gpus"))
	dra := &fakeDRA{
		claims:  map[string]*resourceapi.ResourceClaim{"default/train-0": c},
		slices:  append(testSlices(), slice("node-2", attrs.GPUDriver, numa0GPUs()...)),
		classes: schedtest.ShippedClasses(t),
	}
	pl := newPlugin(dra, allFeatures)
	_, ctx := ktesting.NewTestContext(t)
	state := framework.NewCycleState()
	if _, status := pl.PreFilter(ctx, state, pod, nil); !status.IsSuccess() {
		t.Fatalf("PreFilter: %v", status)
	}
	before, err := testutil.GetCounterMetricValue(schedmetrics.AlignmentRejections)
	if err != nil {
		t.Fatal(err)
	}
	if status := pl.Filter(ctx, state, pod, nodeInfo(testNode)); status.IsSuccess() {
		t.Fatalf("Filter(%s) passed a claim that cannot be aligned there", testNode)
	}
	if status := pl.Filter(ctx, state, pod, nodeInfo("node-2")); !status.IsSuccess() {
		t.Fatalf("Filter(node-2) = %v", status)
	}
	after, err := testutil.GetCounterMetricValue(schedmetrics.AlignmentRejections)
	if err != nil {
		t.Fatal(err)
	}
	if after-before != 1 {
		t.Errorf("rejections counted: %v, want 1", after-before)
	}
}
