package tenantquota

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// PreFilter turns away, before any node is looked at, a pod whose claims
// cannot fit its tenant's quota whatever devices they get: the lower
// bound of their cost (quota.Demand) on top of the tenant's usage
// already exceeds a limit. It also holds pods whose tenant cannot be
// checked (see resolve). Reserve makes the exact check.
//
// Rejections are UnschedulableAndUnresolvable: preempting pods on a node
// frees no quota.
func (pl *Plugin) PreFilter(ctx context.Context, _ fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	k := pl.k
	// Any scheduling cycle shows this scheduler leads: usage is published
	// from then on, also while only pods without claims have come by.
	k.markActive()
	extended, hasExtended := k.draExtendedResource(pod)
	if len(pod.Spec.ResourceClaims) == 0 && !hasExtended {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	logger := klog.FromContext(ctx)
	seen := k.acct.generation()
	tg, status := k.resolve(ctx, pod, seen)
	if status != nil {
		return nil, status
	}
	if tg == nil || !tg.info.quota.Limited() {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	if hasExtended {
		k.hold(logger, pod, tg.tenant, seen)
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
			"tenant %q has a device quota, which the extended resource %s (backed by a DeviceClass) would bypass; ask for the devices with a ResourceClaim", tg.tenant, extended))
	}
	demand := pl.demand(pod)
	if demand.IsZero() {
		return nil, nil
	}
	if v, retry := k.acct.check(pod, tg.tenant, tg.namespaces, tg.info.quota, demand, seen); v != nil {
		if retry {
			k.retry(logger, pod)
		}
		logger.V(3).Info("Quota exceeded", "pod", klog.KObj(pod), "tenant", tg.tenant, "violation", v.String())
		countRejection(tg.tenant, v)
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, exceeded(tg.tenant, v))
	}
	return nil, nil
}

// PreFilterExtensions returns nil: the quota does not depend on the pods
// of a node.
func (pl *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// demand is the lower bound of the cost of the pod's claims that still
// need an allocation.
func (pl *Plugin) demand(pod *v1.Pod) quota.List {
	total := quota.List{}
	for _, claim := range pl.k.podClaims(pod) {
		if claim.Status.Allocation != nil || pl.k.claims.GetPendingAllocation(claim.UID) != nil {
			continue
		}
		total.Add(quota.Demand(&claim.Spec))
	}
	return total
}

// exceeded is the message of a pod turned away by the quota: it names
// the tenant, the resource, and the used, requested and limit amounts.
func exceeded(tenant string, v *quota.Violation) string {
	return fmt.Sprintf("tenant %q: %s", tenant, v)
}
