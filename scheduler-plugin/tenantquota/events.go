package tenantquota

import (
	"context"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// EventsToRegister lists what can admit a pod this plugin turned away: a
// claim of its tenant losing its allocation or going away, and its
// Tenant appearing or its quota being raised, removed or fixed. Tenants
// are only registered when their API was served at start: the scheduler
// waits for the informers of registered resources to sync before it
// schedules anything, which a missing CRD would block forever.
//
// The plugin also activates held pods itself whenever its own informers
// see usage go down or a Tenant, namespace or the caches change, and on
// Unreserve, which no cluster event reports.
func (pl *Plugin) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	events := []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.ResourceClaim, ActionType: fwk.Update | fwk.Delete}, QueueingHintFn: pl.k.isClaimReleased},
	}
	if pl.k.tenantEvents {
		events = append(events, fwk.ClusterEventWithHint{
			Event:          fwk.ClusterEvent{Resource: tenantEventResource, ActionType: fwk.Add | fwk.Update | fwk.Delete},
			QueueingHintFn: pl.k.isTenantRelaxed,
		})
	}
	return events, nil
}

// isClaimReleased queues the pod when an allocated claim in a namespace
// of the pod's tenant was deallocated or deleted.
func (k *keeper) isClaimReleased(logger klog.Logger, pod *v1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	prev := asClaim(oldObj)
	if prev == nil || prev.Status.Allocation == nil {
		return fwk.QueueSkip, nil
	}
	if claim := asClaim(newObj); claim != nil && claim.Status.Allocation != nil {
		return fwk.QueueSkip, nil
	}
	tenant := k.tenantOf(pod.Namespace)
	if tenant == "" || tenant != k.tenantOf(prev.Namespace) {
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("Claim of the tenant released", "pod", klog.KObj(pod), "tenant", tenant, "resourceclaim", klog.KObj(prev))
	return fwk.Queue, nil
}

// isTenantRelaxed queues the pod when its Tenant was created, or a
// quota label of it was raised, removed or fixed.
func (k *keeper) isTenantRelaxed(logger klog.Logger, pod *v1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	prev, next := asMeta(oldObj), asMeta(newObj)
	if next == nil {
		// Deleted: its pods are held until it exists again.
		return fwk.QueueSkip, nil
	}
	if next.GetName() != k.tenantOf(pod.Namespace) {
		return fwk.QueueSkip, nil
	}
	nextQuota, err := quota.Parse(next.GetLabels())
	if err != nil {
		return fwk.QueueSkip, nil
	}
	if prev != nil {
		if prevQuota, err := quota.Parse(prev.GetLabels()); err == nil && !quota.Relaxed(prevQuota, nextQuota) {
			return fwk.QueueSkip, nil
		}
	}
	logger.V(5).Info("Tenant quota relaxed", "pod", klog.KObj(pod), "tenant", next.GetName())
	return fwk.Queue, nil
}

func asClaim(obj any) *resourceapi.ResourceClaim {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	claim, _ := obj.(*resourceapi.ResourceClaim)
	return claim
}

func asMeta(obj any) metav1.Object {
	if obj == nil {
		return nil
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return m
}
