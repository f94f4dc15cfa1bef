package scoring

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// Base is what every hadron score plugin shares: the device model it reads,
// signing, and reading the pod's claims once per cycle. Plugins embed it
// and add Name, Score and their own arguments.
type Base struct {
	src *model.Source
}

// NewBase reads the device model from dra (nil when dynamic resource
// allocation is off: the plugin then scores nothing).
func NewBase(dra fwk.SharedDRAManager, shared *model.Shared, fts feature.Features) Base {
	return Base{src: shared.For(dra, fts)}
}

// SignPod refuses pods with claims, as DynamicResources does.
func (b *Base) SignPod(ctx context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return SignPod(ctx, pod)
}

// PreScore reads the pod's unallocated claims once per cycle; pods without
// any skip Score.
func (b *Base) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	if Prepare(ctx, cs, pod, b.src) == nil {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

// ScorePlacement scores the devices the pod would get on the node with
// cost (lower is better): the score is minus the rounded cost, Unknown
// when the placement cannot be modelled. what names the score in logs.
func ScorePlacement(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo, what string, cost func(*model.Placement) float64) int64 {
	st := Read(cs)
	node := nodeInfo.Node()
	if st == nil || node == nil {
		return Unknown
	}
	p, err := st.Placement(ctx, node.Name)
	if err != nil {
		klog.FromContext(ctx).V(5).Info("Not scoring "+what, "pod", klog.KObj(pod), "node", klog.KObj(node), "err", err)
		return Unknown
	}
	if p == nil {
		return Unknown
	}
	return -int64(math.Round(cost(p)))
}

// ReservedPlacement is the placement the model expects the pod to get on
// the node it was reserved on, for plugins that record the choice made
// (once per pod, rather than for every node scored); nil when the pod has
// no devices to place or the placement cannot be modelled.
func (b *Base) ReservedPlacement(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) *model.Placement {
	st := Read(cs)
	if st == nil {
		// The framework skips scoring when one node is feasible; read
		// the pod's state now (nothing is computed for pods without
		// devices to place).
		_ = b.PreScore(ctx, cs, pod, nil)
		if st = Read(cs); st == nil {
			return nil
		}
	}
	p, err := st.Placement(ctx, nodeName)
	if err != nil {
		return nil
	}
	return p
}
