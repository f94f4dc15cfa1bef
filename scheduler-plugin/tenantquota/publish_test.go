package tenantquota

import (
	"maps"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

func TestPublish(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "4", "quota.hadron.dev/gpu-memory": "320Gi"})
	h.namespace("a", "physics", "")
	h.namespace("b", "physics", "")
	h.namespace("free", "", "")
	h.namespace("orphan", "", "physics")
	h.k.claimHandler(h.logger).OnAdd(allocated(h.gpuClaim("a", "x"), allocation("gpu-0"), "5"), true)
	p := newPublisher(h.k, DefaultConfigMapName, DefaultPublishInterval)

	p.sync(h.ctx())
	want := map[string]string{
		"tenant": "physics", "status": "ok", "namespaces": "a,b,orphan",
		"gpus.limit": "4", "gpus.used": "1",
		"gpu-memory.limit": "320Gi", "gpu-memory.used": "80Gi",
		"gpu-milli.used": "1000",
	}
	for _, ns := range []string{"a", "b"} {
		cm, err := h.client.CoreV1().ConfigMaps(ns).Get(h.ctx(), DefaultConfigMapName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		if !maps.Equal(cm.Data, want) {
			t.Errorf("namespace %s: data %v, want %v", ns, cm.Data, want)
		}
		if cm.Labels[managedByLabel] != managedByValue {
			t.Errorf("namespace %s: labels %v", ns, cm.Labels)
		}
	}
	orphan, err := h.client.CoreV1().ConfigMaps("orphan").Get(h.ctx(), DefaultConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := orphan.Data["status"], "held: namespace orphan is owned by Tenant physics but has no capsule.clastix.io/tenant label"; got != want {
		t.Errorf("status of a namespace whose label is missing: %q, want %q", got, want)
	}
	if _, err := h.client.CoreV1().ConfigMaps("free").Get(h.ctx(), DefaultConfigMapName, metav1.GetOptions{}); err == nil {
		t.Error("ConfigMap published in a namespace without tenant")
	}

	// Nothing changed: nothing written.
	h.client.ClearActions()
	p.sync(h.ctx())
	if n := len(writes(h.client.Actions())); n != 0 {
		t.Errorf("%d writes without a change", n)
	}

	// A malformed label shows in the status; a namespace that leaves the
	// tenant loses its ConfigMap.
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "many"})
	relabelled := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{}}}
	if err := h.nsStore.Update(relabelled); err != nil {
		t.Fatal(err)
	}
	p.sync(h.ctx())
	cm, err := h.client.CoreV1().ConfigMaps("a").Get(h.ctx(), DefaultConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `held: quota label quota.hadron.dev/gpus="many": want a non-negative integer such as "4"`; cm.Data["status"] != want {
		t.Errorf("status %q, want %q", cm.Data["status"], want)
	}
	if _, ok := cm.Data["gpus.limit"]; ok {
		t.Errorf("limits of a malformed quota published: %v", cm.Data)
	}
	if _, err := h.client.CoreV1().ConfigMaps("b").Get(h.ctx(), DefaultConfigMapName, metav1.GetOptions{}); err == nil {
		t.Error("ConfigMap left in a namespace that left the tenant")
	}
}

func writes(actions []clienttesting.Action) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range actions {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a)
		}
	}
	return out
}

// TestAnyCycleActivatesPublishing: usage is published once this scheduler
// runs scheduling cycles, also when only pods without claims came by, so
// that tenants see their (empty) usage before their first device pod.
func TestAnyCycleActivatesPublishing(t *testing.T) {
	h := newHarness(t)
	select {
	case <-h.k.active:
		t.Fatal("publishing active before any scheduling cycle")
	default:
	}
	noClaims := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "cpu-only"}}
	if _, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), noClaims, nil); !st.IsSkip() {
		t.Fatalf("PreFilter of a pod without claims: %v, want Skip", st)
	}
	select {
	case <-h.k.active:
	default:
		t.Error("a scheduling cycle of a pod without claims did not activate publishing")
	}
}
