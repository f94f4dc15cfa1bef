package tenantquota

import (
	"slices"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// claimHandler turns the scheduler's ResourceClaim informer into
// committed usage. When usage goes down, the tenant's held pods are
// activated right away: the scheduling queue may see the same event
// before this handler did and retry them against the old usage.
func (k *keeper) claimHandler(logger klog.Logger) cache.ResourceEventHandler {
	changed := func(obj any) {
		claim, ok := obj.(*resourceapi.ResourceClaim)
		if !ok {
			return
		}
		if k.acct.claimChanged(claim) {
			logger.V(5).Info("Claim released", "resourceclaim", klog.KObj(claim))
			k.activateTenant(logger, k.tenantOf(claim.Namespace))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			claim, ok := obj.(*resourceapi.ResourceClaim)
			if !ok {
				return
			}
			if k.acct.claimDeleted(claim.UID) {
				logger.V(5).Info("Claim deleted", "resourceclaim", klog.KObj(claim))
				k.activateTenant(logger, k.tenantOf(claim.Namespace))
			}
		},
	}
}

// namespaceHandler retries pods held because of their namespace (not
// known yet, tenant label and owners disagreeing) when it changes, and
// the pods of the tenants a namespace left or joined: their usage moved.
func (k *keeper) namespaceHandler(logger klog.Logger) cache.ResourceEventHandler {
	label := k.args.TenantLabel
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ns, ok := obj.(*v1.Namespace); ok {
				k.activateHeld(logger, func(h heldPod) bool { return h.pod.Namespace == ns.Name })
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			prev, ok1 := oldObj.(*v1.Namespace)
			ns, ok2 := newObj.(*v1.Namespace)
			if !ok1 || !ok2 {
				return
			}
			if prev.Labels[label] == ns.Labels[label] && slices.Equal(tenantOwners(prev), tenantOwners(ns)) {
				return
			}
			logger.V(4).Info("Namespace changed tenant", "namespace", ns.Name, "from", prev.Labels[label], "to", ns.Labels[label])
			tenants := append(tenantOwners(prev), prev.Labels[label], ns.Labels[label])
			k.activateHeld(logger, func(h heldPod) bool {
				return h.pod.Namespace == ns.Name || (h.tenant != "" && slices.Contains(tenants, h.tenant))
			})
		},
	}
}
