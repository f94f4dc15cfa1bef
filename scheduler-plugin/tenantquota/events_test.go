package tenantquota

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	fwk "k8s.io/kube-scheduler/framework"
)

func TestEventsToRegister(t *testing.T) {
	h := newHarness(t)
	evs, err := h.pl.EventsToRegister(h.ctx())
	if err != nil || len(evs) != 1 || evs[0].Event.Resource != fwk.ResourceClaim {
		t.Errorf("without the Tenant API: %v %v", evs, err)
	}
	h.k.tenantEvents = true
	evs, _ = h.pl.EventsToRegister(h.ctx())
	if len(evs) != 2 || evs[1].Event.Resource != "tenants.v1beta2.capsule.clastix.io" || evs[1].Event.ActionType != fwk.Add|fwk.Update|fwk.Delete {
		t.Errorf("with the Tenant API: %v", evs)
	}
}

func TestIsClaimReleased(t *testing.T) {
	h := newHarness(t)
	h.namespace("a", "physics", "")
	h.namespace("b", "physics", "")
	h.namespace("bio", "biology", "")
	h.namespace("free", "", "")
	alloc := allocation("gpu-0")
	claimB := h.gpuClaim("b", "x")
	for name, tc := range map[string]struct {
		podNS    string
		old, new any
		want     fwk.QueueingHint
	}{
		"deallocated in another namespace of the tenant": {"a", allocated(claimB, alloc, "2"), claimB, fwk.Queue},
		"deleted":                      {"a", allocated(claimB, alloc, "2"), nil, fwk.Queue},
		"deleted, final state unknown": {"a", cache.DeletedFinalStateUnknown{Obj: allocated(claimB, alloc, "2")}, nil, fwk.Queue},
		"allocated":                    {"a", claimB, allocated(claimB, alloc, "2"), fwk.QueueSkip},
		"unallocated deleted":          {"a", claimB, nil, fwk.QueueSkip},
		"still allocated":              {"a", allocated(claimB, alloc, "2"), allocated(claimB, alloc, "3"), fwk.QueueSkip},
		"other tenant":                 {"bio", allocated(claimB, alloc, "2"), nil, fwk.QueueSkip},
		"pod without tenant":           {"free", allocated(claimB, alloc, "2"), nil, fwk.QueueSkip},
	} {
		got, err := h.k.isClaimReleased(h.logger, pod(tc.podNS, "p", "c"), tc.old, tc.new)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", name, got, err, tc.want)
		}
	}
}

func TestIsTenantRelaxed(t *testing.T) {
	h := newHarness(t)
	h.namespace("a", "physics", "")
	tenant := func(name string, labels map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("capsule.clastix.io/v1beta2")
		u.SetKind("Tenant")
		u.SetName(name)
		u.SetLabels(labels)
		return u
	}
	four := tenant("physics", map[string]string{"quota.hadron.dev/gpus": "4"})
	for name, tc := range map[string]struct {
		old, new any
		want     fwk.QueueingHint
	}{
		"created":        {nil, four, fwk.Queue},
		"raised":         {four, tenant("physics", map[string]string{"quota.hadron.dev/gpus": "5"}), fwk.Queue},
		"removed":        {four, tenant("physics", nil), fwk.Queue},
		"fixed":          {tenant("physics", map[string]string{"quota.hadron.dev/gpus": "x"}), four, fwk.Queue},
		"lowered":        {four, tenant("physics", map[string]string{"quota.hadron.dev/gpus": "3"}), fwk.QueueSkip},
		"broken":         {four, tenant("physics", map[string]string{"quota.hadron.dev/gpus": "x"}), fwk.QueueSkip},
		"unchanged":      {four, four, fwk.QueueSkip},
		"deleted":        {four, nil, fwk.QueueSkip},
		"another tenant": {nil, tenant("biology", nil), fwk.QueueSkip},
	} {
		got, err := h.k.isTenantRelaxed(h.logger, pod("a", "p", "c"), tc.old, tc.new)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v, want %v", name, got, err, tc.want)
		}
	}
}
