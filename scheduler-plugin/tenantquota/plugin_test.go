package tenantquota

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/quota"
)

func (h *harness) ctx() context.Context { return klog.NewContext(context.Background(), h.logger) }

// reserve runs PreFilter and, if it passes, puts the claims' allocations
// in flight (as DynamicResources' Reserve does) and runs Reserve. It
// returns the cycle state and the first failing status.
func (h *harness) reserve(p *v1.Pod, devices ...string) (fwk.CycleState, *fwk.Status) {
	cs := framework.NewCycleState()
	if _, st := h.pl.PreFilter(h.ctx(), cs, p, nil); !st.IsSuccess() && !st.IsSkip() {
		return cs, st
	}
	for i, pc := range p.Spec.ResourceClaims {
		c, err := h.dra.Get(p.Namespace, *pc.ResourceClaimName)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.Status.Allocation == nil && h.dra.GetPendingAllocation(c.UID) == nil {
			h.dra.setPending(c.UID, allocation(devices[i]))
		}
	}
	return cs, h.pl.Reserve(h.ctx(), cs, p, "node-1")
}

func (h *harness) used(tenant string) quota.List {
	namespaces, err := h.k.tenantNamespaces(tenant)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.k.acct.usage(namespaces)
}

// TestReserveNeverOvershoots reserves 30 pods of one tenant in three
// namespaces concurrently against a quota of 4 GPUs: exactly 4 get in
// (the scheduler serializes Reserve, the lock must not rely on it), the
// others are told tenant, resource, used, requested and limit, and an
// Unreserve lets the held pods try again.
func TestReserveNeverOvershoots(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "4"})
	for _, ns := range []string{"a", "b", "c"} {
		h.namespace(ns, "physics", "physics")
	}
	type result struct {
		cs  fwk.CycleState
		pod *v1.Pod
		st  *fwk.Status
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for i := range 30 {
		ns := []string{"a", "b", "c"}[i%3]
		name := fmt.Sprintf("claim-%d", i)
		h.gpuClaim(ns, name)
		p := pod(ns, fmt.Sprintf("pod-%d", i), name)
		h.dra.setPending(h.claimUID(ns, name), allocation(fmt.Sprintf("gpu-%d", i%8)))
		wg.Go(func() {
			cs := framework.NewCycleState()
			st := h.pl.Reserve(h.ctx(), cs, p, "node-1")
			mu.Lock()
			results = append(results, result{cs, p, st})
			mu.Unlock()
		})
	}
	wg.Wait()
	var admitted []result
	for _, r := range results {
		if r.st.IsSuccess() {
			admitted = append(admitted, r)
			continue
		}
		if r.st.Code() != fwk.Unschedulable {
			t.Errorf("pod %s: code %v, want Unschedulable", r.pod.Name, r.st.Code())
		}
		const want = `tenant "physics": quota.hadron.dev/gpus exceeded: used 4, requested 1, limit 4`
		if r.st.Message() != want {
			t.Errorf("pod %s: message %q, want %q", r.pod.Name, r.st.Message(), want)
		}
	}
	if len(admitted) != 4 {
		t.Fatalf("%d pods admitted, want 4", len(admitted))
	}
	if got := h.used("physics")[quota.GPUs]; got != 4 {
		t.Errorf("used gpus = %d, want 4", got)
	}

	// PreFilter now turns the next pod away before any node is looked at.
	h.gpuClaim("a", "late")
	if _, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), pod("a", "late", "late"), nil); st.Code() != fwk.UnschedulableAndUnresolvable ||
		!strings.Contains(st.Message(), "used 4, requested 1, limit 4") {
		t.Errorf("PreFilter: %v", st)
	}

	// Unreserve of an admitted pod (binding failed before PreBind wrote
	// anything) frees its GPU and activates the 27 held pods.
	h.dra.setPending(h.claimUID(admitted[0].pod.Namespace, admitted[0].pod.Spec.ResourceClaims[0].Name), nil)
	h.pl.Unreserve(h.ctx(), admitted[0].cs, admitted[0].pod, "node-1")
	if got := h.used("physics")[quota.GPUs]; got != 3 {
		t.Errorf("used gpus after Unreserve = %d, want 3", got)
	}
	if got := len(h.activator.take()); got != 27 {
		t.Errorf("%d pods activated, want 27 (26 held by Reserve, 1 by PreFilter)", got)
	}
	// Unreserve is idempotent.
	h.pl.Unreserve(h.ctx(), admitted[0].cs, admitted[0].pod, "node-1")
	if got := h.used("physics")[quota.GPUs]; got != 3 {
		t.Errorf("used gpus after second Unreserve = %d, want 3", got)
	}
}

// TestReservePricesFromTheDRAManager: devices the plugin's slice index
// does not have yet are priced from the scheduler's DRA manager, listed
// once however many devices the allocation names.
func TestReservePricesFromTheDRAManager(t *testing.T) {
	h := newHarness(t)
	h.dra.slices = append(h.dra.slices, gpuSlice("node-2", 2)) // not in the index
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpu-memory": "160Gi"})
	h.namespace("a", "physics", "")
	c := h.gpuClaim("a", "c")
	alloc := allocation("gpu-0")
	alloc.Devices.Results = append(alloc.Devices.Results, allocation("gpu-1").Devices.Results...)
	for i := range alloc.Devices.Results {
		alloc.Devices.Results[i].Pool = "node-2"
	}
	h.dra.setPending(c.UID, alloc)
	if st := h.pl.Reserve(h.ctx(), framework.NewCycleState(), pod("a", "p", "c"), "node-2"); !st.IsSuccess() {
		t.Fatalf("Reserve: %v", st)
	}
	want := quota.List{quota.GPUs: 2, quota.GPUMilli: 2000, quota.GPUMemory: 160 << 30}
	if got := h.used("physics"); !maps.Equal(got, want) {
		t.Errorf("used = %v, want %v", got, want)
	}
	if h.dra.lists != 1 {
		t.Errorf("DRA manager listed %d times, want once", h.dra.lists)
	}
}

// claimUID is the UID of an existing claim.
func (h *harness) claimUID(ns, name string) types.UID {
	h.t.Helper()
	c, err := h.dra.Get(ns, name)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.UID
}

// TestWrittenAllocationKeepsCounting: an allocation PreBind wrote keeps
// counting after Unreserve until the informer shows it gone, and only
// events newer than the write can release it.
func TestWrittenAllocationKeepsCounting(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "1"})
	h.namespace("a", "physics", "")
	c1 := h.gpuClaim("a", "c1")
	p1 := pod("a", "p1", "c1")
	cs, st := h.reserve(p1, "gpu-0")
	if !st.IsSuccess() {
		t.Fatalf("first pod: %v", st)
	}
	// PreBind wrote the allocation (the assume cache has it), then
	// binding failed.
	written := allocated(c1, allocation("gpu-0"), "11")
	h.dra.setClaim(written)
	h.dra.setPending(c1.UID, nil)
	h.pl.Unreserve(h.ctx(), cs, p1, "node-1")
	if got := h.used("physics")[quota.GPUs]; got != 1 {
		t.Fatalf("used gpus after Unreserve of a written allocation = %d, want 1", got)
	}
	h.gpuClaim("a", "c2")
	if _, st := h.reserve(pod("a", "p2", "c2"), "gpu-1"); st.IsSuccess() {
		t.Fatal("second pod admitted while the written allocation counts")
	}
	// An event from before the write changes nothing.
	if h.k.acct.claimChanged(c1) {
		t.Error("older event released the written allocation")
	}
	// The write arrives, then the claim is deallocated.
	if h.k.acct.claimChanged(written) {
		t.Error("allocated event released usage")
	}
	if got := h.used("physics")[quota.GPUs]; got != 1 {
		t.Errorf("used gpus when committed = %d, want 1", got)
	}
	h.k.claimHandler(h.logger).OnUpdate(written, allocated(c1, nil, "12"))
	if got := h.used("physics")[quota.GPUs]; got != 0 {
		t.Errorf("used gpus after deallocation = %d, want 0", got)
	}
	if got := h.activator.take(); !slices.Equal(got, []string{"a/p2"}) {
		t.Errorf("activated %v, want [a/p2]", got)
	}
}

// TestSharedClaimCountsOnce: pods sharing a claim in flight pay once, and
// the reservation lasts until the last of them is unreserved.
func TestSharedClaimCountsOnce(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "1"})
	h.namespace("a", "physics", "")
	h.gpuClaim("a", "shared")
	p1, p2 := pod("a", "p1", "shared"), pod("a", "p2", "shared")
	cs1, st := h.reserve(p1, "gpu-0")
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	cs2, st := h.reserve(p2, "gpu-0")
	if !st.IsSuccess() {
		t.Fatalf("second pod of a shared claim: %v", st)
	}
	if got := h.used("physics")[quota.GPUs]; got != 1 {
		t.Errorf("used gpus = %d, want 1", got)
	}
	h.pl.Unreserve(h.ctx(), cs1, p1, "node-1")
	if got := h.used("physics")[quota.GPUs]; got != 1 {
		t.Errorf("used gpus with one sharer left = %d, want 1", got)
	}
	h.pl.Unreserve(h.ctx(), cs2, p2, "node-1")
	if got := h.used("physics")[quota.GPUs]; got != 0 {
		t.Errorf("used gpus after both = %d, want 0", got)
	}
}

// TestCommittedUsage: allocated claims from the informer count for the
// tenant of their namespace, across its namespaces only, priced once
// their devices are known.
func TestCommittedUsage(t *testing.T) {
	h := newHarness(t)
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "2", "quota.hadron.dev/gpu-memory": "200Gi"})
	h.tenant("biology", nil)
	h.namespace("a", "physics", "")
	h.namespace("b", "physics", "")
	h.namespace("bio", "biology", "")
	handler := h.k.claimHandler(h.logger)
	handler.OnAdd(allocated(h.gpuClaim("a", "x"), allocation("gpu-0"), "20"), true)
	handler.OnAdd(allocated(h.gpuClaim("bio", "y"), allocation("gpu-1"), "21"), true)
	// On a node whose slice was not seen yet: a GPU of unknown memory.
	unknown := allocation("gpu-0")
	unknown.Devices.Results[0].Pool = "node-2"
	handler.OnAdd(allocated(h.gpuClaim("b", "z"), unknown, "22"), true)
	want := quota.List{quota.GPUs: 2, quota.GPUMilli: 2000, quota.GPUMemory: 80 << 30}
	if got := h.used("physics"); !maps.Equal(got, want) {
		t.Errorf("used = %v, want %v", got, want)
	}
	h.k.pools.update(nil, gpuSlice("node-2", 1))
	want[quota.GPUMemory] = 160 << 30
	if got := h.used("physics"); !maps.Equal(got, want) {
		t.Errorf("used once the slice is known = %v, want %v", got, want)
	}
	// Full: the lower bound of a new whole-GPU claim does not fit.
	h.gpuClaim("b", "w")
	_, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), pod("b", "w", "w"), nil)
	if st.Code() != fwk.UnschedulableAndUnresolvable || st.Message() != `tenant "physics": quota.hadron.dev/gpus exceeded: used 2, requested 1, limit 2` {
		t.Errorf("PreFilter: %v", st)
	}
	// Deleting a claim frees its share and activates the held pod.
	handler.OnDelete(allocated(h.gpuClaim("a", "x"), allocation("gpu-0"), "23"))
	if got := h.used("physics")[quota.GPUs]; got != 1 {
		t.Errorf("used gpus after delete = %d, want 1", got)
	}
	if got := h.activator.take(); !slices.Equal(got, []string{"b/w"}) {
		t.Errorf("activated %v, want [b/w]", got)
	}
}

// TestHeldPods: pods whose tenant cannot be checked are held with a
// clear message and activated when that changes; namespaces without a
// tenant are not limited.
func TestHeldPods(t *testing.T) {
	h := newHarness(t)
	h.namespace("free", "", "")
	h.namespace("a", "physics", "")
	h.namespace("stolen", "biology", "physics")
	h.namespace("unlabelled", "", "physics")
	for _, c := range []struct{ ns, name string }{{"free", "c"}, {"a", "c"}, {"stolen", "c"}, {"unlabelled", "c"}, {"new", "c"}, {"gone", "c"}, {"flaky", "c"}} {
		h.gpuClaim(c.ns, c.name)
	}
	preFilter := func(ns string) *fwk.Status {
		_, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), pod(ns, "p", "c"), nil)
		return st
	}
	expect := func(ns, want string) {
		t.Helper()
		st := preFilter(ns)
		if want == "" {
			if !st.IsSuccess() && !st.IsSkip() {
				t.Errorf("namespace %s: %v, want admitted", ns, st)
			}
			return
		}
		if st.Code() != fwk.UnschedulableAndUnresolvable || !strings.Contains(st.Message(), want) {
			t.Errorf("namespace %s: %v, want UnschedulableAndUnresolvable with %q", ns, st, want)
		}
	}

	h.k.tenants.synced.Store(false)
	expect("free", "")
	expect("a", msgNotSynced)
	h.k.tenants.synced.Store(true)
	h.k.tenantChanged(h.logger, "")
	if got := h.activator.take(); !slices.Equal(got, []string{"a/p"}) {
		t.Errorf("activated on sync: %v", got)
	}

	// A namespace the informer does not have yet is read from the API
	// server; one that does not exist there either has no tenant.
	if _, err := h.client.CoreV1().Namespaces().Create(h.ctx(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "new", Labels: map[string]string{DefaultTenantLabel: "physics"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("new", `namespace new names tenant "physics", which does not exist`)
	expect("gone", "")
	h.client.PrependReactor("get", "namespaces", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if action.(clienttesting.GetAction).GetName() == "flaky" {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	expect("flaky", "namespace flaky is not known yet: connection refused")
	expect("stolen", "namespace stolen has capsule.clastix.io/tenant=biology but is owned by Tenant physics")
	expect("unlabelled", "namespace unlabelled is owned by Tenant physics but has no capsule.clastix.io/tenant label")
	expect("a", `namespace a names tenant "physics", which does not exist`)
	h.activator.take()
	h.namespace("flaky", "", "")
	if got := h.activator.take(); !slices.Equal(got, []string{"flaky/p"}) {
		t.Errorf("activated on namespace add: %v", got)
	}

	// A malformed label holds the tenant's pods and is reported once.
	bad := map[string]string{"quota.hadron.dev/gpus": "four"}
	h.tenant("physics", bad)
	h.tenant("physics", bad)
	if got := h.activator.take(); len(got) != 2 || !slices.Contains(got, "a/p") || !slices.Contains(got, "new/p") {
		t.Errorf("activated on tenant creation: %v, want a/p and new/p", got)
	}
	expect("a", `tenant "physics": quota label quota.hadron.dev/gpus="four": want a non-negative integer`)
	if n := len(h.recorder.Events); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if ev := <-h.recorder.Events; !strings.Contains(ev, "Warning InvalidQuotaLabel") || !strings.Contains(ev, `quota.hadron.dev/gpus="four"`) {
		t.Errorf("event %q", ev)
	}
	cs := framework.NewCycleState()
	if st := h.pl.Reserve(h.ctx(), cs, pod("a", "p", "c"), "node-1"); st.Code() != fwk.Unschedulable {
		t.Errorf("Reserve of a held pod: %v", st)
	}
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "1"})
	if got := h.activator.take(); !slices.Equal(got, []string{"a/p"}) {
		t.Errorf("activated on fix: %v", got)
	}
	expect("a", "")

	// A tenant without quota labels limits nothing, but its usage is
	// still recorded for publishing.
	h.tenant("biology", nil)
	h.namespace("bio", "biology", "")
	h.gpuClaim("bio", "c")
	if _, st := h.reserve(pod("bio", "p", "c"), "gpu-3"); !st.IsSuccess() {
		t.Errorf("unlimited tenant: %v", st)
	}
	if got := h.used("biology")[quota.GPUs]; got != 1 {
		t.Errorf("biology used %d gpus, want 1", got)
	}
}

func TestSignPod(t *testing.T) {
	h := newHarness(t)
	if f, st := h.pl.SignPod(context.Background(), pod("a", "p")); f != nil || st != nil {
		t.Errorf("pod without claims: %v %v", f, st)
	}
	if _, st := h.pl.SignPod(context.Background(), pod("a", "p", "c")); st.Code() != fwk.Unschedulable {
		t.Errorf("pod with claims: %v", st)
	}
}

// TestExtendedResourcesHeld: a pod asking for devices through an extended
// resource backed by a DeviceClass cannot be priced in Reserve, so it is
// held in a tenant with a quota, and left alone elsewhere.
func TestExtendedResourcesHeld(t *testing.T) {
	h := newHarness(t)
	const name = v1.ResourceName("deviceclass.resource.kubernetes.io/gpu.hadron.dev")
	h.dra.extended = map[v1.ResourceName]bool{name: true}
	h.tenant("physics", map[string]string{"quota.hadron.dev/gpus": "4"})
	h.namespace("a", "physics", "")
	h.namespace("free", "", "")
	withExtended := func(ns string) *v1.Pod {
		p := pod(ns, "x")
		p.Spec.Containers = []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Limits: v1.ResourceList{name: resource.MustParse("1")}}}}
		return p
	}
	_, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), withExtended("a"), nil)
	if st.Code() != fwk.UnschedulableAndUnresolvable || !strings.Contains(st.Message(), string(name)) {
		t.Errorf("tenant with a quota: %v", st)
	}
	if _, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), withExtended("free"), nil); !st.IsSkip() {
		t.Errorf("namespace without tenant: %v", st)
	}
	if _, st := h.pl.PreFilter(h.ctx(), framework.NewCycleState(), pod("a", "plain"), nil); !st.IsSkip() {
		t.Errorf("pod without devices: %v", st)
	}
}
