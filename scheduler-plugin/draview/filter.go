package draview

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/resource"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// cannotAllocate is the upstream plugin's message for a node whose devices
// cannot satisfy the pod's claims: a node rejected early reads the same.
const cannotAllocate = "cannot allocate all claims"

// Filter rejects, before the upstream allocator runs, a node that the
// cycle's model shows cannot serve one of the pod's requests whatever the
// allocator picks (model.Node.Unsatisfiable: too few unallocated matching
// devices, or too little capacity left on them); every other node goes
// to the upstream Filter. Near a full cluster most nodes are such nodes,
// and the allocator's search on each is most of a failing pod's cost.
//
// The check errs only towards passing a node on. It runs only when the
// model holds every device the allocator could use (the snapshot is
// exhaustive) and every claim of the pod is unallocated, so that the
// upstream Filter has nothing else to judge or remember for PostFilter.
func (pl *Plugin) Filter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	if request := pl.unsatisfiable(ctx, cs, pod, nodeInfo); request != "" {
		if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
			logger.Info("Node cannot serve a request, allocator not run", "pod", klog.KObj(pod), "node", klog.KObj(nodeInfo.Node()), "request", request)
		}
		return fwk.NewStatus(fwk.Unschedulable, cannotAllocate)
	}
	return pl.DynamicResources.Filter(ctx, cs, pod, nodeInfo)
}

// unsatisfiable returns the name of a request of the pod that the node
// provably cannot serve, or "" when the upstream Filter must decide.
func (pl *Plugin) unsatisfiable(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) string {
	if pl.view == nil || nodeInfo.Node() == nil {
		return ""
	}
	// The upstream Filter passes every node for a pod whose resize is
	// deferred.
	if pl.fts.EnableInPlacePodVerticalScalingSchedulerPreemption && resource.IsPodResizeDeferred(pod) {
		return ""
	}
	snap, demand := model.ReadSnapshot(cs)
	if snap == nil || !snap.Exhaustive || demand.Empty() || !demand.Complete {
		return ""
	}
	// A node missing from an exhaustive snapshot has no devices: a nil
	// model says so.
	request, err := snap.Nodes[nodeInfo.Node().Name].Unsatisfiable(ctx, demand)
	if err != nil {
		// A selector that fails to evaluate is the allocator's to report.
		return ""
	}
	return request
}
