package alignment

import (
	"context"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

// EventsToRegister lists what can make an alignment possible after this
// plugin rejected every node: new or changed devices, a node whose slices
// were published before it registered, a changed class, or the pod's own
// claim being allocated (for example by another pod sharing it).
func (pl *Plugin) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	if pl.dra == nil {
		return nil, nil
	}
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.ResourceSlice, ActionType: fwk.Add | fwk.Update}},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add}},
		{Event: fwk.ClusterEvent{Resource: fwk.DeviceClass, ActionType: fwk.Add | fwk.Update}},
		{Event: fwk.ClusterEvent{Resource: fwk.ResourceClaim, ActionType: fwk.Add | fwk.Update}, QueueingHintFn: isPodClaim},
	}, nil
}

// isPodClaim queues the pod only for events about one of its own claims;
// other claims do not change what its claims can be aligned on.
func isPodClaim(logger klog.Logger, pod *v1.Pod, _, newObj any) (fwk.QueueingHint, error) {
	claim, ok := newObj.(*resourceapi.ResourceClaim)
	if !ok || claim.Namespace != pod.Namespace {
		return fwk.QueueSkip, nil
	}
	for i := range pod.Spec.ResourceClaims {
		name, _, err := resourceclaim.Name(pod, &pod.Spec.ResourceClaims[i])
		if err == nil && name != nil && *name == claim.Name {
			logger.V(5).Info("Claim of the pod changed", "pod", klog.KObj(pod), "resourceclaim", klog.KObj(claim))
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}
