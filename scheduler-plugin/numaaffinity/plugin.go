package numaaffinity

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "NUMAAffinity"

// Plugin scores nodes by how well the pod's devices could be aligned there.
type Plugin struct {
	scoring.Base
	pcieWeight float64
}

var (
	_ fwk.PreScorePlugin = &Plugin{}
	_ fwk.ScorePlugin    = &Plugin{}
	_ fwk.SignPlugin     = &Plugin{}
	_ fwk.ReservePlugin  = &Plugin{}
)

// NewFactory returns the plugin's factory; plugins built from one
// model.Shared share the device model.
func NewFactory(shared *model.Shared) frameworkruntime.PluginFactory {
	return scoring.NewFactory(shared, decodeArgs, New)
}

// New builds the plugin on base's device model.
func New(args *Args, base scoring.Base) *Plugin {
	schedmetrics.Register()
	return &Plugin{Base: base, pcieWeight: float64(*args.PCIeRootPercent) / 100}
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// Score returns the node's alignment score, 0-100.
func (pl *Plugin) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	st := scoring.Read(cs)
	node := nodeInfo.Node()
	if st == nil || node == nil {
		return 0, nil
	}
	n := st.Snapshot.Nodes[node.Name]
	if n == nil {
		return 0, nil
	}
	score, err := alignmentScore(ctx, n, st.Demand, pl.pcieWeight)
	if err != nil {
		klog.FromContext(ctx).V(5).Info("Not scoring NUMA affinity", "pod", klog.KObj(pod), "node", klog.KObj(node), "err", err)
		return 0, nil
	}
	return score, nil
}

// ScoreExtensions returns nil: scores are on 0-100 already.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return nil }
