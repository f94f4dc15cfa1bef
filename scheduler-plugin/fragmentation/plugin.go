package fragmentation

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "GPUFragmentation"

// Plugin scores nodes by how much the pod would fragment their GPUs.
type Plugin struct {
	src            *model.Source
	tasks          []task
	workloadClaims bool
}

var (
	_ fwk.PreScorePlugin  = &Plugin{}
	_ fwk.ScorePlugin     = &Plugin{}
	_ fwk.ScoreExtensions = &Plugin{}
	_ fwk.SignPlugin      = &Plugin{}
)

// NewFactory returns the plugin's factory; plugins built from one
// model.Shared share the device model.
func NewFactory(shared *model.Shared) frameworkruntime.PluginFactory {
	return func(_ context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
		args, err := decodeArgs(obj)
		if err != nil {
			return nil, err
		}
		fts := feature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate)
		return New(args, fh.SharedDRAManager(), shared, fts), nil
	}
}

// New builds the plugin on a DRA manager (nil when dynamic resource
// allocation is off: the plugin then scores nothing).
func New(args *Args, dra fwk.SharedDRAManager, shared *model.Shared, fts feature.Features) *Plugin {
	pl := &Plugin{tasks: tasks(args.TargetWorkload), workloadClaims: fts.EnableDRAWorkloadResourceClaims}
	if dra != nil && fts.EnableDynamicResourceAllocation {
		pl.src = shared.For(dra, fts)
	}
	return pl
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// SignPod refuses pods with claims, as DynamicResources does.
func (pl *Plugin) SignPod(ctx context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return scoring.SignPod(ctx, pod)
}

// PreScore reads the pod's unallocated claims once per cycle; pods without
// any skip Score.
func (pl *Plugin) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	if scoring.Prepare(ctx, cs, pod, pl.src, pl.workloadClaims) == nil {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

// Score returns minus the change of the node's expected fragmentation, in
// milli-GPU (smaller differences do not sway the choice); NormalizeScore
// maps it onto 0-100.
func (pl *Plugin) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	st := scoring.Read(cs)
	node := nodeInfo.Node()
	if st == nil || node == nil {
		return scoring.Unknown, nil
	}
	p, err := st.Placement(ctx, node.Name)
	if err != nil || p == nil {
		if err != nil {
			klog.FromContext(ctx).V(5).Info("Not scoring GPU fragmentation", "pod", klog.KObj(pod), "node", klog.KObj(node), "err", err)
		}
		return scoring.Unknown, nil
	}
	return -int64(math.Round(delta(p, pl.tasks))), nil
}

// ScoreExtensions returns the plugin: its scores need normalising.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore maps the least added fragmentation to 100 and the most
// to 0.
func (pl *Plugin) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	scoring.Normalize(scores)
	return nil
}
