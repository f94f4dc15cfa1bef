package tenantquota

import (
	"testing"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// TestHoldAfterChange: a pod whose verdict was reached before a change
// that activates held pods is not held (it would have missed the
// activation) but retried by the caller.
func TestHoldAfterChange(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "1"})
	h.namespace("a", "physics", "")
	h.k.claimHandler(h.logger).OnAdd(allocated(h.gpuClaim("a", "x"), allocation("gpu-0"), "2"), true)
	q := quota.Quota{Limits: quota.List{quota.GPUs: 1}}
	p := pod("a", "p", "c")

	seen := h.k.acct.generation()
	if v, retry := h.k.acct.check(p, "physics", []string{"a"}, q, quota.List{quota.GPUs: 1}, seen); v == nil || retry {
		t.Fatalf("check without a change: violation %v, retry %v", v, retry)
	}
	if got := h.k.acct.takeHeld(func(heldPod) bool { return true }); len(got) != 1 {
		t.Fatalf("held %d pods, want 1", len(got))
	}

	seen = h.k.acct.generation()
	h.k.activateTenant(h.logger, "physics") // a change, while nothing is held
	if v, retry := h.k.acct.check(p, "physics", []string{"a"}, q, quota.List{quota.GPUs: 1}, seen); v == nil || !retry {
		t.Fatalf("check after a change: violation %v, retry %v; want both", v, retry)
	}
	if h.k.acct.hold(p, "physics", seen) {
		t.Error("held after a change")
	}
	if got := h.k.acct.takeHeld(func(heldPod) bool { return true }); len(got) != 0 {
		t.Errorf("%d pods held after a change, want none", len(got))
	}

	// The plugin retries such a pod itself.
	seen = h.k.acct.generation()
	h.k.activateTenant(h.logger, "other")
	h.k.hold(h.logger, p, "physics", seen)
	if got := h.activator.take(); len(got) != 1 || got[0] != "a/p" {
		t.Errorf("activated %v, want [a/p]", got)
	}
}
