package idlepower

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

// Reserve records the modelled power the pod's devices add to the node it
// was reserved on: the choice actually made, once per pod, rather than
// every node scored. It never fails a pod.
func (pl *Plugin) Reserve(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	p := pl.ReservedPlacement(ctx, cs, pod, nodeName)
	if p == nil {
		return nil
	}
	schedmetrics.MarginalPower.Observe(pl.model.marginal(p))
	return nil
}

// Unreserve has nothing to undo: the metric records choices made.
func (pl *Plugin) Unreserve(context.Context, fwk.CycleState, *v1.Pod, string) {}
