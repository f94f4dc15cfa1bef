package tenantquota

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// stateKey is where Reserve leaves, for Unreserve, what it recorded.
const stateKey fwk.StateKey = Name

// reserveState lists the claims whose allocations Reserve recorded.
type reserveState struct {
	tenant string
	claims []claimRef
}

type claimRef struct {
	uid             types.UID
	namespace, name string
}

func (s *reserveState) Clone() fwk.StateData { return s }

// Reserve prices the allocations the DynamicResources plugin has just
// put in flight for the pod's claims (it must come before this plugin
// in the reserve order) from the devices' ResourceSlices, and admits the
// pod only if they fit the tenant's quota on top of committed usage and
// every other reservation still in flight. Check and record happen under
// one lock, so no two pods, whatever their namespaces or profiles, can
// both take the last unit. A rejected pod's status names the tenant,
// the resource, and the used, requested and limit amounts.
func (pl *Plugin) Reserve(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ string) *fwk.Status {
	k := pl.k
	if len(pod.Spec.ResourceClaims) == 0 {
		return nil
	}
	k.markActive()
	logger := klog.FromContext(ctx)
	seen := k.acct.generation()
	tg, status := k.resolve(ctx, pod, seen)
	if status != nil {
		return fwk.NewStatus(fwk.Unschedulable, status.Message())
	}
	if tg == nil {
		return nil
	}
	var claims []podClaim
	state := &reserveState{tenant: tg.tenant}
	fallback := &draPools{lister: k.slices}
	for _, claim := range k.podClaims(pod) {
		alloc := k.claims.GetPendingAllocation(claim.UID)
		if alloc == nil {
			// Allocated before this cycle: already counted.
			continue
		}
		cost, complete := quota.Price(alloc, k.pools)
		if !complete {
			cost, complete = quota.Price(alloc, fallback)
			if !complete {
				logger.V(2).Info("Pricing an allocation whose devices are not all published; counting what the allocation records", "resourceclaim", klog.KObj(claim), "cost", cost.String())
			}
		}
		claims = append(claims, podClaim{uid: claim.UID, namespace: claim.Namespace, pending: true, cost: cost})
		state.claims = append(state.claims, claimRef{uid: claim.UID, namespace: claim.Namespace, name: claim.Name})
	}
	if len(claims) == 0 {
		return nil
	}
	v, used, retry := k.acct.reserve(pod, tg.tenant, tg.namespaces, tg.info.quota, claims, seen)
	if v != nil {
		if retry {
			k.retry(logger, pod)
		}
		logger.V(3).Info("Quota exceeded", "pod", klog.KObj(pod), "tenant", tg.tenant, "violation", v.String())
		countRejection(tg.tenant, v)
		return fwk.NewStatus(fwk.Unschedulable, exceeded(tg.tenant, v))
	}
	logger.V(5).Info("Reserved quota", "pod", klog.KObj(pod), "tenant", tg.tenant, "usedBefore", used.String())
	cs.Write(stateKey, state)
	return nil
}

// Unreserve releases what Reserve recorded for the pod, unless PreBind
// already wrote an allocation (which keeps counting until the informer
// shows it), and lets the tenant's held pods try again: no cluster event
// tells the scheduling queue about usage released here.
func (pl *Plugin) Unreserve(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ string) {
	k := pl.k
	data, err := cs.Read(stateKey)
	if err != nil {
		return
	}
	state, ok := data.(*reserveState)
	if !ok {
		return
	}
	cs.Delete(stateKey)
	uids := make([]types.UID, 0, len(state.claims))
	writtenRV := map[types.UID]string{}
	for _, c := range state.claims {
		uids = append(uids, c.uid)
		if claim, err := k.claims.Get(c.namespace, c.name); err == nil && claim.UID == c.uid && claim.Status.Allocation != nil {
			writtenRV[c.uid] = claim.ResourceVersion
		}
	}
	if k.acct.unreserve(pod.UID, uids, writtenRV) {
		logger := klog.FromContext(ctx)
		logger.V(4).Info("Released quota reservation", "pod", klog.KObj(pod), "tenant", state.tenant)
		k.activateTenant(logger, state.tenant)
	}
}
