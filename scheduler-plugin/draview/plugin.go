package draview

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// Name is the plugin's name in the registry and in profiles. Score weights
// and metrics are keyed by it, so Plugin.Name returns it too.
const Name = "HadronDynamicResources"

// Plugin is the upstream DynamicResources plugin built on the preference
// view. Every extension point is the upstream plugin's; PreFilter is
// wrapped to pass the cycle's snapshot on to the score plugins, Filter to
// reject nodes the snapshot shows cannot serve the pod before the
// allocator searches them.
type Plugin struct {
	*dynamicresources.DynamicResources
	view *view
	fts  feature.Features
}

var (
	_ fwk.PreEnqueuePlugin         = &Plugin{}
	_ fwk.PreFilterPlugin          = &Plugin{}
	_ fwk.FilterPlugin             = &Plugin{}
	_ fwk.PostFilterPlugin         = &Plugin{}
	_ fwk.PodGroupPostFilterPlugin = &Plugin{}
	_ fwk.ScorePlugin              = &Plugin{}
	_ fwk.ReservePlugin            = &Plugin{}
	_ fwk.PreBindPlugin            = &Plugin{}
	_ fwk.EnqueueExtensions        = &Plugin{}
	_ fwk.SignPlugin               = &Plugin{}
)

// Name returns the plugin's registry name.
func (pl *Plugin) Name() string { return Name }

// NewFactory returns the plugin's factory. Plugins built by factories
// sharing one model.Shared evaluate one model per DRA manager.
func NewFactory(shared *model.Shared) frameworkruntime.PluginFactory {
	return func(ctx context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
		return newPlugin(ctx, obj, fh, shared, feature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate))
	}
}

func newPlugin(ctx context.Context, obj runtime.Object, fh fwk.Handle, shared *model.Shared, fts feature.Features) (*Plugin, error) {
	args, err := decodeArgs(obj, fts)
	if err != nil {
		return nil, err
	}
	pl := &Plugin{fts: fts}
	inner := fh
	dra := fh.SharedDRAManager()
	if src := shared.For(dra, fts); src != nil {
		pl.view = &view{src: src, logger: klog.LoggerWithName(klog.FromContext(ctx), Name)}
		inner = handle{Handle: fh, dra: manager{SharedDRAManager: dra, view: pl.view}}
	}
	p, err := dynamicresources.New(ctx, args, inner, fts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	upstream, ok := p.(*dynamicresources.DynamicResources)
	if !ok {
		return nil, fmt.Errorf("%s: upstream plugin is a %T, not *dynamicresources.DynamicResources", Name, p)
	}
	pl.DynamicResources = upstream
	return pl, nil
}

// PreFilter runs the upstream PreFilter, which lists the slices through
// the view once per pod, and records the snapshot that listing showed in
// the cycle state, with the pod's demand: the score plugins then evaluate
// exactly the device order the allocator searches, for the claims it was
// ordered for. The view orders for the pod's request sizes, read here from
// its unallocated claims: PreFilter runs on the one scheduling goroutine,
// so the demand set here is the one the upstream PreFilter's listing sees.
func (pl *Plugin) PreFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if pl.view == nil {
		return pl.DynamicResources.PreFilter(ctx, cs, pod, nodes)
	}
	var demand *model.Demand
	if len(pod.Spec.ResourceClaims) > 0 {
		demand = pl.view.src.PodDemand(ctx, pod)
		pl.view.forPod(demand)
		defer pl.view.forPod(nil)
	}
	mark := pl.view.mark()
	result, status := pl.DynamicResources.PreFilter(ctx, cs, pod, nodes)
	if snap := pl.view.since(mark); snap != nil {
		model.WriteSnapshot(cs, snap, demand)
	}
	return result, status
}
