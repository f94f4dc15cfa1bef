package idlepower

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

var fts = feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true}

func newTestPlugin(t *testing.T, m *fx.Manager, raw string) *Plugin {
	t.Helper()
	return fx.NewScorePlugin(t, m, fts, raw, decodeArgs, New)
}

func compute(milli int64) map[resourceapi.QualifiedName]int64 {
	return map[resourceapi.QualifiedName]int64{attrs.GPUCompute: milli}
}

func TestShareGoesToActiveGPU(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	gpusA, a := fx.SharedNode("a", 2)
	_, b := fx.SharedNode("b", 2)
	m := fx.NewManager(a, b)
	m.Share(attrs.GPUDriver, "a", gpusA[1].DeviceName(), compute(500))
	m.AddClaim(fx.Claim("share", "", fx.ShareRequest("gpu", 250)))
	pl := newTestPlugin(t, m, "")
	state := framework.NewCycleState()
	scores := fx.Scores(ctx, t, pl, state, fx.Pod("share", "share"), "a", "b")
	// The added power: on a, the share's dynamic power only; on b, the
	// idle power, the active floor and the dynamic power. Scores are in
	// proportion to the costlier node's: b gets 0, a what it saves.
	dynamic := (250.0 - 35) * 0.7 * 0.25 * 0.8
	wake := 35 + (250-35)*0.3 + dynamic
	wantA := int64(math.Round(100 * (math.Round(1000*wake/250) - math.Round(1000*dynamic/250)) / math.Round(1000*wake/250)))
	if scores["a"] != wantA || scores["b"] != 0 || wantA < 70 {
		t.Errorf("scores %v, want a (active GPU) %d, b (wakes a GPU) 0", scores, wantA)
	}
	st := scoring.Read(state)
	for node, want := range map[string]float64{"a": dynamic, "b": wake} {
		p, err := st.Placement(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		if got := pl.model.marginal(p); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: added %.2f W, want %.2f W", node, got, want)
		}
		if got := pl.model.wakeCost(p); math.Abs(got-1000*want/250) > 1e-9 {
			t.Errorf("%s: wake cost %.2f, want %.2f thousandths of 250 W", node, got, 1000*want/250)
		}
	}
}

// A whole GPU wakes a GPU on any node: between a low-power and a
// high-power model the scores barely differ, although the watts do.
func TestWholeGPUModelNeutral(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	node := func(name string, idle, maxW int64) []*resourceapi.ResourceSlice {
		return fx.Pool(attrs.GPUDriver, name, 8, nil, fx.SharedGPU(fx.GPU{UUID: name + "-0", PCIeRoot: "pci0", Idle: idle, Max: maxW}))
	}
	m := fx.NewManager(node("t4", 10, 70), node("v100", 30, 300))
	m.AddClaim(fx.Claim("whole", "", fx.ShareRequest("gpu", 1000)))
	pl := newTestPlugin(t, m, "")
	state := framework.NewCycleState()
	scores := fx.Scores(ctx, t, pl, state, fx.Pod("whole", "whole"), "t4", "v100")
	if d := scores["t4"] - scores["v100"]; d < -3 || d > 3 {
		t.Errorf("scores %v: waking either model should score within 3 points", scores)
	}
	st := scoring.Read(state)
	watts := map[string]float64{}
	for _, n := range []string{"t4", "v100"} {
		p, err := st.Placement(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		watts[n] = pl.model.marginal(p)
	}
	if watts["v100"] < 3*watts["t4"] {
		t.Errorf("added watts %v: the V100 should add over three times the T4's", watts)
	}
}

func TestCPUPackage(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, a := fx.DGX("a")
	_, b := fx.DGX("b")
	m := fx.NewManager(a, b)
	// a's socket 1 is busy.
	m.Share(attrs.CPUDriver, "a", "cpu-numa1", map[resourceapi.QualifiedName]int64{attrs.CPUs: 8})
	m.AddClaim(fx.Claim("cpus", "", fx.CPURequest("cpus", 8)))
	scores := fx.Scores(ctx, t, newTestPlugin(t, m, ""), nil, fx.Pod("cpus", "cpus"), "a", "b")
	if scores["a"] < 80 || scores["b"] != 0 {
		t.Errorf("scores %v, want the node with an active package far ahead", scores)
	}
}

func TestBinaryModel(t *testing.T) {
	pl := newTestPlugin(t, fx.NewManager(), `{"idleCharged": false, "activeFloorPercent": 100, "utilizationPercent": 100}`)
	// Idle until something is allocated, then full power.
	for _, c := range []struct{ f, want float64 }{{0, 70}, {0.1, 700}, {1, 700}} {
		if got := pl.model.watts(70, 700, c.f); got != c.want {
			t.Errorf("watts at %.1f: %.1f, want %.1f", c.f, got, c.want)
		}
	}
}

func TestArgsValidation(t *testing.T) {
	for _, raw := range []string{`{"activeFloorPercent": -1}`, `{"utilizationPercent": 101}`, `{"idleCharged": "yes"}`} {
		if _, err := decodeArgs(&runtime.Unknown{Raw: []byte(raw)}); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
	args, err := decodeArgs(nil)
	if err != nil || !*args.IdleCharged || *args.ActiveFloorPercent != DefaultActiveFloorPercent || *args.UtilizationPercent != DefaultUtilizationPercent {
		t.Errorf("defaults: %+v, %v", args, err)
	}
}
