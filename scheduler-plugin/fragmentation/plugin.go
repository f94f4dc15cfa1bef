package fragmentation

import (
	"context"

	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "GPUFragmentation"

// Plugin scores nodes by how much the pod would fragment their GPUs.
type Plugin struct {
	scoring.Base
	tasks []task
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
	return scoring.NewFactory(shared, decodeArgs, New)
}

// New builds the plugin on base's device model.
func New(args *Args, base scoring.Base) *Plugin {
	return &Plugin{Base: base, tasks: tasks(args.TargetWorkload)}
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// Score returns minus the change of the node's expected fragmentation, in
// milli-GPU (smaller differences do not sway the choice); NormalizeScore
// maps it onto 0-100.
func (pl *Plugin) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	before, after := roomFor(nodeInfo, readPodRequests(cs))
	return scoring.ScorePlacement(ctx, cs, pod, nodeInfo, "GPU fragmentation", func(p *model.Placement) float64 {
		return delta(p, pl.tasks, before, after)
	}), nil
}

// PreScore reads the pod's claims (scoring.Base) and, once per cycle
// rather than for every node scored, its CPU and memory requests.
func (pl *Plugin) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	if st := pl.Base.PreScore(ctx, cs, pod, nodes); st != nil {
		return st
	}
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	cs.Write(podRequestsKey, &podRequests{cpuMilli: req.Cpu().MilliValue(), memBytes: req.Memory().Value()})
	return nil
}

const podRequestsKey fwk.StateKey = Name + "/pod-requests"

// podRequests is the pod's CPU and memory requests, in the cycle state.
type podRequests struct{ cpuMilli, memBytes int64 }

func (r *podRequests) Clone() fwk.StateData { return r }

// readPodRequests returns the requests PreScore stored; nil when it did
// not run (the node's room is then unknown).
func readPodRequests(cs fwk.CycleState) *podRequests {
	data, err := cs.Read(podRequestsKey)
	if err != nil {
		return nil
	}
	r, _ := data.(*podRequests)
	return r
}

// roomFor is the node's free CPU and memory without and with the pod's
// requests; unknown (no CPU or memory check) without them.
func roomFor(nodeInfo fwk.NodeInfo, req *podRequests) (before, after hostRoom) {
	if req == nil {
		return hostRoom{}, hostRoom{}
	}
	alloc, used := nodeInfo.GetAllocatable(), nodeInfo.GetRequested()
	before = hostRoom{cpuMilli: alloc.GetMilliCPU() - used.GetMilliCPU(), memBytes: alloc.GetMemory() - used.GetMemory(), known: true}
	after = hostRoom{cpuMilli: before.cpuMilli - req.cpuMilli, memBytes: before.memBytes - req.memBytes, known: true}
	return before, after
}

// ScoreExtensions returns the plugin: its scores need normalising.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore maps the least added fragmentation to 100 and the most
// to 0.
func (pl *Plugin) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	scoring.Normalize(scores)
	return nil
}
