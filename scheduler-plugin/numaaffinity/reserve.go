package numaaffinity

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// Reserve counts whether the devices the model expects the pod to get on
// the node it was reserved on share one NUMA node. Pods without any
// NUMA-attached device are not counted. It never fails a pod.
func (pl *Plugin) Reserve(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	p := pl.ReservedPlacement(ctx, cs, pod, nodeName)
	if p == nil {
		return nil
	}
	switch numaNodes(p) {
	case 0:
	case 1:
		schedmetrics.NUMAPlacements.WithLabelValues(schedmetrics.Aligned).Inc()
	default:
		schedmetrics.NUMAPlacements.WithLabelValues(schedmetrics.Unaligned).Inc()
	}
	return nil
}

// Unreserve has nothing to undo: the metric records choices made.
func (pl *Plugin) Unreserve(context.Context, fwk.CycleState, *v1.Pod, string) {}

// numaNodes counts the NUMA nodes of a placement's picked devices.
func numaNodes(p *model.Placement) int {
	seen := map[int]bool{}
	for _, pick := range p.Picks {
		if n := p.Node.Devices[pick.Device].NUMA; n != model.NoNUMA {
			seen[n] = true
		}
	}
	return len(seen)
}
