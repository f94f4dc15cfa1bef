package alignment

import (
	"context"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

const stateKey fwk.StateKey = Name

// stateData is written by PreFilter and only read afterwards, so clones
// share it.
type stateData struct {
	checks []*claimCheck
	slices *sliceIndex
}

func (s *stateData) Clone() fwk.StateData { return s }

// PreFilter finds the pod's unallocated claims with matchAttribute
// constraints and indexes the ResourceSlices by node. It never fails a
// pod: whatever it cannot look up is left to the DynamicResources plugin,
// and the pod's other claims are still checked.
func (pl *Plugin) PreFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if pl.dra == nil || len(pod.Spec.ResourceClaims) == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	logger := klog.FromContext(ctx)
	checks := pl.podChecks(logger, pod)
	if len(checks) == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	slices, err := pl.dra.ResourceSlices().ListWithDeviceTaintRules()
	if err != nil {
		logger.V(4).Info("Not checking device alignment: listing ResourceSlices failed", "pod", klog.KObj(pod), "err", err)
		return nil, fwk.NewStatus(fwk.Skip)
	}
	cs.Write(stateKey, &stateData{checks: checks, slices: newSliceIndex(slices)})
	return nil, nil
}

// podChecks returns the checks for the pod's claims, each claim once.
func (pl *Plugin) podChecks(logger klog.Logger, pod *v1.Pod) []*claimCheck {
	var checks []*claimCheck
	seen := make(map[string]bool, len(pod.Spec.ResourceClaims))
	for i := range pod.Spec.ResourceClaims {
		claim := pl.podClaim(pod, &pod.Spec.ResourceClaims[i])
		if claim == nil || seen[claim.Name] {
			continue
		}
		seen[claim.Name] = true
		if pl.dra.ResourceClaims().GetPendingAllocation(claim.UID) != nil {
			// Allocated in this scheduler already, not yet written back.
			continue
		}
		check, why := pl.builder.build(claim)
		if check == nil {
			logger.V(5).Info("Not checking device alignment of claim", "pod", klog.KObj(pod), "resourceclaim", klog.KObj(claim), "reason", why)
			continue
		}
		checks = append(checks, check)
	}
	return checks
}

// podClaim returns the ResourceClaim behind a pod's claim reference, or nil
// when it does not exist (yet), is being deleted or belongs to another pod:
// the DynamicResources plugin keeps such pods from being scheduled.
func (pl *Plugin) podClaim(pod *v1.Pod, podClaim *v1.PodResourceClaim) *resourceapi.ResourceClaim {
	name, mustCheckOwner, err := resourceclaim.Name(pod, podClaim)
	if err != nil || name == nil {
		return nil
	}
	claim, err := pl.dra.ResourceClaims().Get(pod.Namespace, *name)
	if err != nil || claim.DeletionTimestamp != nil {
		return nil
	}
	if mustCheckOwner && resourceclaim.IsForPod(pod, claim, pl.workloadClaims) != nil {
		return nil
	}
	return claim
}

// PreFilterExtensions returns nil: the verdict does not depend on other
// pods.
func (pl *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter rejects the node when one of the pod's claims cannot be aligned
// on it whatever is allocated there.
func (pl *Plugin) Filter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	if err := ctx.Err(); err != nil {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, context.Cause(ctx).Error())
	}
	data, err := cs.Read(stateKey)
	state, ok := data.(*stateData)
	node := nodeInfo.Node()
	if err != nil || !ok || node == nil {
		// Without PreFilter (not enabled in the profile) there is nothing
		// to explain; never fail the pod for that.
		return nil
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "pod", klog.KObj(pod), "node", klog.KObj(node))
	why := rejection(ctx, logger, state.checks, state.slices.devices(node.Name))
	if why == "" {
		return nil
	}
	logger.V(5).Info("Device alignment impossible", "reason", why)
	schedmetrics.AlignmentRejections.Inc()
	return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, why)
}

// rejection returns why the first claim that cannot be aligned on a node's
// devices cannot, or "" when none.
func rejection(ctx context.Context, logger klog.Logger, checks []*claimCheck, devices []candidate) string {
	for _, check := range checks {
		why, err := check.evaluate(ctx, devices)
		if err != nil {
			logger.V(5).Info("Not checking device alignment of claim", "resourceclaim", check.claim, "err", err)
			continue
		}
		if why != "" {
			return why
		}
	}
	return ""
}
