package scoring

import (
	"context"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// podStateKey is shared by hadron's score plugins: the first one's
// PreScore computes the state, the others read it.
const podStateKey fwk.StateKey = "hadron.dev/score-pod-state"

// PodState is what hadron's score plugins evaluate for one pod.
type PodState struct {
	Demand   *model.Demand
	Snapshot *model.Snapshot

	mu         sync.Mutex
	placements map[string]placementResult
}

type placementResult struct {
	p   *model.Placement
	err error
}

// Clone shares the state: it only changes by filling the placement cache,
// which is safe for concurrent use and the same for every copy.
func (s *PodState) Clone() fwk.StateData { return s }

// Prepare returns the pod's state for this cycle, computing it on first
// use: the snapshot that the HadronDynamicResources plugin showed the
// allocator and the demand of the pod's unallocated claims it ordered that
// snapshot for (read afresh, with a fresh snapshot, when that plugin did
// not run). It returns nil when there is nothing to score: no claims to
// allocate, or no model to score with.
func Prepare(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, src *model.Source) *PodState {
	if len(pod.Spec.ResourceClaims) == 0 || src == nil {
		return nil
	}
	if data, err := cs.Read(podStateKey); err == nil {
		return scorable(data)
	}
	s := &PodState{placements: map[string]placementResult{}}
	s.Snapshot, s.Demand = model.ReadSnapshot(cs)
	if s.Demand == nil {
		s.Demand = src.PodDemand(ctx, pod)
	}
	if s.Snapshot == nil && !s.Demand.Empty() {
		snap, err := src.Snapshot(ctx)
		if err != nil {
			klog.FromContext(ctx).V(4).Info("Not scoring devices: no model", "pod", klog.KObj(pod), "err", err)
		}
		s.Snapshot = snap
	}
	cs.Write(podStateKey, s)
	return scorable(s)
}

// Read returns the state Prepare computed in this cycle, or nil.
func Read(cs fwk.CycleState) *PodState {
	data, err := cs.Read(podStateKey)
	if err != nil {
		return nil
	}
	return scorable(data)
}

// scorable returns the state when it has something to score, else nil.
func scorable(data fwk.StateData) *PodState {
	if s, ok := data.(*PodState); ok && s.Snapshot != nil && !s.Demand.Empty() {
		return s
	}
	return nil
}

// Placement estimates where the pod's devices land on a node, once per
// node and cycle. It returns nil when the node has no hadron devices.
func (s *PodState) Placement(ctx context.Context, node string) (*model.Placement, error) {
	n := s.Snapshot.Nodes[node]
	if n == nil {
		return nil, nil
	}
	s.mu.Lock()
	r, ok := s.placements[node]
	s.mu.Unlock()
	if ok {
		return r.p, r.err
	}
	p, err := n.Place(ctx, s.Demand)
	s.mu.Lock()
	s.placements[node] = placementResult{p, err}
	s.mu.Unlock()
	return p, err
}
