package tenantquota

import (
	"sync"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// claimState is where a claim's cost stands between Reserve and the
// informer showing its allocation.
type claimState int

const (
	// reserved: Reserve recorded the pending allocation of a scheduling
	// cycle; the API does not have it yet.
	reserved claimState = iota
	// written: every pod that reserved the allocation was unreserved,
	// but only after PreBind had written it. The claim stays allocated
	// until something deallocates it, so it keeps counting until the
	// informer shows it either way.
	written
	// committed: the informer shows the claim allocated.
	committed
)

// account is the cost of one allocated or reserved claim, keyed by the
// claim's UID so that a claim shared by several pods counts once.
type account struct {
	namespace string
	state     claimState
	// alloc is what a committed claim is priced from, lazily: on restart
	// claims can arrive before the slices that describe their devices.
	alloc  *resourceapi.AllocationResult
	cost   quota.List
	priced bool
	// pods are the pods in flight that share a reserved allocation.
	pods sets.Set[types.UID]
	// writtenRV is the claim's resourceVersion after PreBind wrote it.
	writtenRV string
}

// heldPod is a pod this plugin turned away, to be activated again when
// something that could admit it happens without a cluster event the
// scheduling queue would see (an Unreserve) or before the queue sees
// the event (the plugin's informers may lag the scheduler's).
type heldPod struct {
	pod *v1.Pod
	// tenant is empty when the pod was held before its tenant was known.
	tenant string
}

// accounts is the quota ledger: committed usage from the informer plus
// in-flight reservations, under one mutex. Reserve checks and records in
// one critical section, which makes admissions linearizable across every
// profile and namespace: two pods can never both take the last unit.
type accounts struct {
	pools quota.Pools

	mu     sync.Mutex
	claims map[types.UID]*account
	byNS   map[string]sets.Set[types.UID]
	held   map[types.UID]heldPod
	// gen counts the changes that activate held pods. A pod is only held
	// if nothing changed since its verdict was reached; otherwise the
	// change might have come too early to activate it.
	gen uint64
}

func newAccounts(pools quota.Pools) *accounts {
	return &accounts{
		pools:  pools,
		claims: map[types.UID]*account{},
		byNS:   map[string]sets.Set[types.UID]{},
		held:   map[types.UID]heldPod{},
	}
}

// podClaim is one of a pod's claims as Reserve sees it.
type podClaim struct {
	uid       types.UID
	namespace string
	// pending is set when the claim's allocation is in flight (in this
	// cycle or shared with another pod in flight); cost is its price.
	pending bool
	cost    quota.List
}

// usage is what the namespaces use: committed, written and reserved.
func (a *accounts) usage(namespaces []string) quota.List {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.usageLocked(namespaces)
}

func (a *accounts) usageLocked(namespaces []string) quota.List {
	total := quota.List{}
	for _, ns := range namespaces {
		for uid := range a.byNS[ns] {
			total.Add(a.costLocked(a.claims[uid]))
		}
	}
	return total
}

func (a *accounts) costLocked(acct *account) quota.List {
	if acct.priced {
		return acct.cost
	}
	cost, complete := quota.Price(acct.alloc, a.pools)
	if complete {
		acct.cost, acct.priced = cost, true
	}
	return cost
}

// generation is the count of changes so far; see hold.
func (a *accounts) generation() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen
}

// check returns the violation if request does not fit q on top of what
// the namespaces use, and then holds the pod as hold does.
func (a *accounts) check(pod *v1.Pod, tenant string, namespaces []string, q quota.Quota, request quota.List, seen uint64) (v *quota.Violation, retry bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v := q.Check(a.usageLocked(namespaces), request); v != nil {
		return v, !a.holdLocked(pod, tenant, seen)
	}
	return nil, false
}

// reserve admits pod if the new allocations among claims fit q on top of
// what the tenant's namespaces use, and records them; otherwise it holds
// the pod as hold does and returns the violation. Allocations already
// counted (shared with a pod in flight, or allocated before) cost nothing
// again.
func (a *accounts) reserve(pod *v1.Pod, tenant string, namespaces []string, q quota.Quota, claims []podClaim, seen uint64) (v *quota.Violation, used quota.List, retry bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	request := quota.List{}
	for _, c := range claims {
		if c.pending && a.claims[c.uid] == nil {
			request.Add(c.cost)
		}
	}
	used = a.usageLocked(namespaces)
	if v := q.Check(used, request); v != nil {
		return v, used, !a.holdLocked(pod, tenant, seen)
	}
	for _, c := range claims {
		if !c.pending {
			continue
		}
		switch acct := a.claims[c.uid]; {
		case acct == nil:
			a.addLocked(c.uid, &account{namespace: c.namespace, state: reserved, cost: c.cost, priced: true, pods: sets.New(pod.UID)})
		case acct.state == reserved:
			acct.pods.Insert(pod.UID)
		}
	}
	delete(a.held, pod.UID)
	return nil, used, false
}

// unreserve drops pod from the reservations of claims. An allocation no
// other pod in flight shares is released unless writtenRV has a
// resourceVersion for it: PreBind wrote it, so it stays counted until
// the informer shows it. released says whether usage went down.
func (a *accounts) unreserve(podUID types.UID, claims []types.UID, writtenRV map[types.UID]string) (released bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, uid := range claims {
		acct := a.claims[uid]
		if acct == nil || acct.state != reserved || !acct.pods.Has(podUID) {
			continue
		}
		acct.pods.Delete(podUID)
		if acct.pods.Len() > 0 {
			continue
		}
		if rv, ok := writtenRV[uid]; ok {
			acct.state, acct.writtenRV, acct.pods = written, rv, nil
			continue
		}
		a.removeLocked(uid)
		released = true
	}
	return released
}

// claimChanged applies an informer add or update: an allocated claim is
// committed (replacing its reservation), an unallocated one releases a
// committed allocation, or a written one once the informer has caught
// up with the write. released says whether usage went down.
func (a *accounts) claimChanged(claim *resourceapi.ResourceClaim) (released bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct := a.claims[claim.UID]
	if alloc := claim.Status.Allocation; alloc != nil {
		switch {
		case acct == nil:
			a.addLocked(claim.UID, &account{namespace: claim.Namespace, state: committed, alloc: alloc})
		case acct.state != committed:
			// The reservation's price is the written allocation's.
			acct.state, acct.alloc, acct.pods, acct.writtenRV = committed, alloc, nil, ""
		case acct.alloc != alloc:
			acct.alloc, acct.priced = alloc, false
		}
		return false
	}
	if acct == nil {
		return false
	}
	switch acct.state {
	case committed:
	case written:
		if cmp, err := resourceversion.CompareResourceVersion(claim.ResourceVersion, acct.writtenRV); err == nil && cmp < 0 {
			// An older event, from before the write.
			return false
		}
	default:
		// Reserved: the informer still shows the claim as it was before
		// this scheduler allocated it.
		return false
	}
	a.removeLocked(claim.UID)
	return true
}

// claimDeleted forgets a deleted claim, whatever its state.
func (a *accounts) claimDeleted(uid types.UID) (released bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.claims[uid] == nil {
		return false
	}
	a.removeLocked(uid)
	return true
}

func (a *accounts) addLocked(uid types.UID, acct *account) {
	a.claims[uid] = acct
	if a.byNS[acct.namespace] == nil {
		a.byNS[acct.namespace] = sets.New[types.UID]()
	}
	a.byNS[acct.namespace].Insert(uid)
}

func (a *accounts) removeLocked(uid types.UID) {
	acct := a.claims[uid]
	delete(a.claims, uid)
	if set := a.byNS[acct.namespace]; set != nil {
		set.Delete(uid)
		if set.Len() == 0 {
			delete(a.byNS, acct.namespace)
		}
	}
}

// hold remembers a turned-away pod until a change activates it, if no
// change happened since seen (a generation read before the verdict was
// reached). Otherwise it returns false: the change may already have been
// announced, and the caller must activate the pod itself.
func (a *accounts) hold(pod *v1.Pod, tenant string, seen uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.holdLocked(pod, tenant, seen)
}

func (a *accounts) holdLocked(pod *v1.Pod, tenant string, seen uint64) bool {
	if a.gen != seen {
		delete(a.held, pod.UID)
		return false
	}
	a.held[pod.UID] = heldPod{pod: pod, tenant: tenant}
	return true
}

// takeHeld counts a change and removes and returns the held pods that
// match.
func (a *accounts) takeHeld(match func(heldPod) bool) []*v1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	var out []*v1.Pod
	for uid, h := range a.held {
		if match(h) {
			out = append(out, h.pod)
			delete(a.held, uid)
		}
	}
	return out
}
