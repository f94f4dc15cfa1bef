package fragmentation

import (
	"math"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

var fts = feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true, EnableDRAPartitionableDevices: true}

func newTestPlugin(t *testing.T, m *fx.Manager, raw string) *Plugin {
	t.Helper()
	return fx.NewScorePlugin(t, m, fts, raw, decodeArgs, New)
}

// deltas runs the plugin for the pod on the nodes and returns the scores
// and each node's change of expected fragmentation.
func deltas(t *testing.T, pl *Plugin, pod string, nodes ...string) (map[string]int64, map[string]float64) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	state := framework.NewCycleState()
	scores := fx.Scores(ctx, t, pl, state, fx.Pod(pod, pod), nodes...)
	out := map[string]float64{}
	st := scoring.Read(state)
	for _, n := range nodes {
		p, err := st.Placement(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = delta(p, pl.tasks, hostRoom{}, hostRoom{})
	}
	return scores, out
}

func TestShareAvoidsCuttingAUsableFragment(t *testing.T) {
	gpusA, a := fx.SharedNode("a", 2)
	_, b := fx.SharedNode("b", 2)
	m := fx.NewManager(a, b)
	m.Share(attrs.GPUDriver, "a", gpusA[1].DeviceName(), map[resourceapi.QualifiedName]int64{attrs.GPUCompute: 250})
	m.AddClaim(fx.Claim("half", "", fx.ShareRequest("gpu", 500)))
	// Against half-GPU requests, the share on a's active GPU leaves 250
	// there that no such request can use; on b it leaves two usable GPUs.
	scores, d := deltas(t, newTestPlugin(t, m, `{"targetWorkload": [{"gpuMilli": 500, "weight": 1}]}`), "half", "a", "b")
	if d["a"] != 250 || d["b"] != 0 {
		t.Errorf("fragmentation change a %.1f, b %.1f; want 250 and 0", d["a"], d["b"])
	}
	if scores["b"] != 100 || scores["a"] != 0 {
		t.Errorf("scores %v, want b 100, a 0", scores)
	}
}

func TestWholeGPUGoesWhereEightCannotFitAnyway(t *testing.T) {
	gpusA, a := fx.DGX("a")
	_, b := fx.DGX("b")
	m := fx.NewManager(a, b)
	m.Allocate(attrs.GPUDriver, "a", gpusA[0].DeviceName())
	m.AddClaim(fx.Claim("one", "", fx.Request("gpu", fx.GPUClass, 1)))
	scores, d := deltas(t, newTestPlugin(t, m, `{"targetWorkload": [{"gpus": 8, "weight": 1}]}`), "one", "a", "b")
	// a has 7 free GPUs: useless to an 8-GPU request before and after.
	// b's 8 free GPUs serve one until this pod takes one of them.
	if d["a"] != -1000 || d["b"] != 7000 {
		t.Errorf("fragmentation change a %.1f, b %.1f; want -1000 and 7000", d["a"], d["b"])
	}
	if scores["a"] != 100 || scores["b"] != 0 {
		t.Errorf("scores %v, want a 100, b 0", scores)
	}
}

func TestMIGKeepsLargerPlacementsFree(t *testing.T) {
	gpusA, a := fx.MIGNode("a", 1)
	_, b := fx.MIGNode("b", 1)
	m := fx.NewManager(a, b)
	m.Allocate(attrs.GPUDriver, "a", fx.MIGDeviceName(gpusA[0], fx.A100Profiles[0], 6))
	oneG := `device.attributes["gpu.hadron.dev"].migComputeSlices == 1`
	m.AddClaim(fx.Claim("small", "", fx.Request("mig", fx.MIGClass, 1, oneG)))
	scores, d := deltas(t, newTestPlugin(t, m, `{"targetWorkload": [{"migComputeSlices": 3, "weight": 1}]}`), "small", "a", "b")
	// a: slices 4, 5 and 7 are free but no 3g placement covers them;
	// the new 1g fills one of them. b: a 1g at slice 6 costs the 3g at 4.
	if d["a"] != -125 || d["b"] != 375 {
		t.Errorf("fragmentation change a %.1f, b %.1f; want -125 and 375", d["a"], d["b"])
	}
	if scores["a"] != 100 || scores["b"] != 0 {
		t.Errorf("scores %v, want a 100, b 0", scores)
	}
}

func TestDefaultWorkloadScoresAreFinite(t *testing.T) {
	gpus, a := fx.DGX("a")
	_, s := fx.SharedNode("s", 2)
	_, mig := fx.MIGNode("m", 2)
	m := fx.NewManager(a, s, mig)
	m.Allocate(attrs.GPUDriver, "a", gpus[3].DeviceName())
	m.AddClaim(fx.Claim("two", "", fx.Request("gpu", fx.GPUClass, 2)))
	_, d := deltas(t, newTestPlugin(t, m, ""), "two", "a")
	if math.IsNaN(d["a"]) || math.IsInf(d["a"], 0) {
		t.Errorf("delta %v", d["a"])
	}
}

func TestArgs(t *testing.T) {
	args, err := decodeArgs(nil)
	if err != nil || len(args.TargetWorkload) != len(DefaultTargetWorkload) {
		t.Fatalf("defaults: %+v, %v", args, err)
	}
	for _, raw := range []string{
		`{"targetWorkload": [{"gpus": 1, "gpuMilli": 500, "weight": 1}]}`,
		`{"targetWorkload": [{"weight": 1}]}`,
		`{"targetWorkload": [{"gpuMilli": 1000, "weight": 1}]}`,
		`{"targetWorkload": [{"gpus": 1, "weight": 0}]}`,
		`{"targetWorkload": [{"migComputeSlices": 9, "weight": 1}]}`,
		`{"targetWorkload": {"gpus": 1}}`,
	} {
		if _, err := decodeArgs(&runtime.Unknown{Raw: []byte(raw)}); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

// TestCPUStrandedGPUsAreFragments: as in the FGD paper, a typical request
// that the node's free CPU or memory cannot take finds all the node's
// free GPU capacity unusable. A share that leaves the node too little CPU
// for a half-GPU request with 8 CPUs strands the other GPU and the rest
// of its own.
func TestCPUStrandedGPUsAreFragments(t *testing.T) {
	_, a := fx.SharedNode("a", 2)
	m := fx.NewManager(a)
	m.AddClaim(fx.Claim("quarter", "", fx.ShareRequest("gpu", 250)))
	pl := newTestPlugin(t, m, `{"targetWorkload": [{"gpuMilli": 500, "cpuMilli": 8000, "memoryMiB": 1024, "weight": 1}]}`)
	_, ctx := ktesting.NewTestContext(t)
	state := framework.NewCycleState()
	fx.Scores(ctx, t, pl, state, fx.Pod("quarter", "quarter"), "a")
	p, err := scoring.Read(state).Placement(ctx, "a")
	if err != nil || p == nil {
		t.Fatalf("placement: %v, %v", p, err)
	}
	gib := int64(1) << 30
	for _, tc := range []struct {
		name          string
		before, after hostRoom
		want          float64
	}{
		// With room for it, the request still fits on either GPU.
		{"CPU unknown", hostRoom{}, hostRoom{}, 0},
		{"room before and after", hostRoom{16000, 8 * gib, true}, hostRoom{12000, 4 * gib, true}, 0},
		// The share leaves 4 CPUs: 1750 milli-GPU become unusable.
		{"CPU runs out", hostRoom{16000, 8 * gib, true}, hostRoom{4000, 4 * gib, true}, 1750},
		{"memory runs out", hostRoom{16000, 8 * gib, true}, hostRoom{12000, gib / 2, true}, 1750},
		// Already stranded before: all 2000 were fragments, 1750 remain.
		{"stranded before", hostRoom{4000, 8 * gib, true}, hostRoom{2000, 4 * gib, true}, -250},
	} {
		if got := delta(p, pl.tasks, tc.before, tc.after); got != tc.want {
			t.Errorf("%s: fragmentation change %.1f, want %.1f", tc.name, got, tc.want)
		}
	}
}

func TestNegativeHostRequestsRejected(t *testing.T) {
	args := &Args{TargetWorkload: []TypicalRequest{{GPUs: 1, CPUMilli: -1, Weight: 1}}}
	if err := args.Validate(); err == nil {
		t.Error("negative cpuMilli accepted")
	}
}
