package numaaffinity

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/pkg/attrs"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
)

var fts = feature.Features{EnableDynamicResourceAllocation: true, EnableDRAConsumableCapacity: true}

func newTestPlugin(t *testing.T, m *fx.Manager) *Plugin {
	t.Helper()
	return fx.NewScorePlugin(t, m, fts, "", decodeArgs, New)
}

func TestScoreFavoursAlignableNode(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	gpusA, a := fx.DGX("a")
	gpusB, b := fx.DGX("b")
	m := fx.NewManager(a, b)
	// a: NUMA 0 has 3 free GPUs, NUMA 1 4. b: 2 and 2.
	m.Allocate(attrs.GPUDriver, "a", gpusA[0].DeviceName())
	for _, i := range []int{0, 1, 4, 5} {
		m.Allocate(attrs.GPUDriver, "b", gpusB[i].DeviceName())
	}
	m.AddClaim(fx.Claim("train", "", fx.Request("gpus", fx.GPUClass, 4), fx.CPURequest("cpus", 16)))
	scores := fx.Scores(ctx, t, newTestPlugin(t, m), nil, fx.Pod("train", "train"), "a", "b")
	// a serves all 5 devices from NUMA 1; each GPU has its own PCIe
	// root, so the PCIe fit is 1 of 4: 75 + 25/4.
	if scores["a"] != 81 {
		t.Errorf("a scored %d, want 81", scores["a"])
	}
	// b serves 2 GPUs and the CPUs from one NUMA node: 3/5.
	if scores["b"] != 51 {
		t.Errorf("b scored %d, want 51", scores["b"])
	}
}

func TestScorePCIeRoot(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	gpus, a := fx.DGX("a")
	_, b := fx.DGX("b")
	m := fx.NewManager(a, b)
	// On a, GPU 0 (whose PCIe root has a NIC) and GPU 4 are taken: a GPU
	// and a NIC still share a NUMA node, not a PCIe root.
	m.Allocate(attrs.GPUDriver, "a", gpus[0].DeviceName())
	m.Allocate(attrs.GPUDriver, "a", gpus[4].DeviceName())
	m.AddClaim(fx.Claim("rdma", "", fx.Request("gpu", fx.GPUClass, 1), fx.Request("nic", fx.NICClass, 1)))
	scores := fx.Scores(ctx, t, newTestPlugin(t, m), nil, fx.Pod("rdma", "rdma"), "a", "b")
	if scores["b"] != 100 || scores["a"] != 88 {
		t.Errorf("scores %v, want b 100 (GPU and NIC on one PCIe root) and a 88 (75 + 25/2)", scores)
	}
}

func TestPreScoreSkipsPodsWithoutClaims(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	_, a := fx.DGX("a")
	if scores := fx.Scores(ctx, t, newTestPlugin(t, fx.NewManager(a)), nil, fx.Pod("plain"), "a"); scores != nil {
		t.Errorf("pod without claims scored %v", scores)
	}
}

func TestSignPod(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, fx.NewManager())
	if _, status := pl.SignPod(ctx, fx.Pod("train", "train")); status.IsSuccess() {
		t.Error("pod with claims signed")
	}
	if frags, status := pl.SignPod(ctx, fx.Pod("plain")); !status.IsSuccess() || frags != nil {
		t.Errorf("pod without claims: %v, %v", frags, status)
	}
}

func TestArgs(t *testing.T) {
	args, err := decodeArgs(&runtime.Unknown{Raw: []byte(`{"pcieRootPercent": 40}`), ContentType: runtime.ContentTypeJSON})
	if err != nil || *args.PCIeRootPercent != 40 {
		t.Errorf("decode: %+v, %v", args, err)
	}
	if args, err := decodeArgs(nil); err != nil || *args.PCIeRootPercent != DefaultPCIeRootPercent {
		t.Errorf("defaults: %+v, %v", args, err)
	}
	if _, err := decodeArgs(&runtime.Unknown{Raw: []byte(`{"pcieRootPercent": 140}`)}); err == nil {
		t.Error("pcieRootPercent 140 accepted")
	}
	if _, err := decodeArgs(&runtime.Unknown{Raw: []byte(`{"pcieRootPercent": "x"}`)}); err == nil {
		t.Error("malformed args accepted")
	}
}
