package idlepower

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "IdlePower"

// Plugin scores nodes by the power the pod's devices would add there.
type Plugin struct {
	scoring.Base
	model powerModel
}

var (
	_ fwk.PreScorePlugin  = &Plugin{}
	_ fwk.ScorePlugin     = &Plugin{}
	_ fwk.ScoreExtensions = &Plugin{}
	_ fwk.SignPlugin      = &Plugin{}
	_ fwk.ReservePlugin   = &Plugin{}
)

// NewFactory returns the plugin's factory; plugins built from one
// model.Shared share the device model.
func NewFactory(shared *model.Shared) frameworkruntime.PluginFactory {
	return scoring.NewFactory(shared, decodeArgs, New)
}

// New builds the plugin on base's device model.
func New(args *Args, base scoring.Base) *Plugin {
	schedmetrics.Register()
	return &Plugin{Base: base, model: args.model()}
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// Score returns minus the wake cost (each touched device's added power
// as thousandths of its maximum); NormalizeScore maps it onto 0-100.
func (pl *Plugin) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	return scoring.ScorePlacement(ctx, cs, pod, nodeInfo, "power", pl.model.wakeCost), nil
}

// ScoreExtensions returns the plugin: its scores need normalising.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore scores each node by how much less it costs than the
// costliest: near-equal costs get near-equal scores, so that the small
// differences between waking one GPU or another do not outweigh the
// other plugins, while not waking one at all clearly does.
func (pl *Plugin) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	scoring.NormalizeCosts(scores)
	return nil
}
