package reclaim

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/hadron-sched/hadron/driver/metrics"
)

// action is what the reclaimer does with a workspace this round.
type action int

const (
	// keep leaves the workspace alone.
	keep action = iota
	// markActive records the GPUs' activity as the workspace's heartbeat.
	markActive
	// reclaim stops the workspace.
	reclaim
)

// verdict is the decision about one workspace pod.
type verdict struct {
	action action
	// problem is why the workspace cannot be judged (a bad annotation,
	// GPUs that cannot be read); the workspace is then kept.
	problem string
	signal  string
	// idle is how long the workspace has been idle, timeout its limit.
	idle, timeout time.Duration
	// gpus are the workspace's GPUs on this node, when they were read.
	gpus []GPU
}

// decide judges one workspace pod at now.
func (r *Reclaimer) decide(pod *v1.Pod, now time.Time) verdict {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != v1.PodRunning || pod.Status.StartTime == nil {
		return verdict{}
	}
	s, err := parseSettings(pod.Annotations)
	if err != nil {
		return verdict{problem: err.Error()}
	}
	if s.timeout == 0 {
		return verdict{}
	}
	v := verdict{signal: s.signal, timeout: s.timeout}
	if r.gpus != nil {
		v.gpus = r.gpus.PodGPUs(pod)
	}
	if s.signal == SignalGPUUtilization {
		busy, problem := r.busy(v.gpus)
		if problem != "" {
			v.problem = problem
			return v
		}
		if busy {
			// Written at most once per interval, so that a busy
			// workspace costs one patch per round at most.
			if now.Sub(s.lastActivity) >= r.interval {
				v.action = markActive
			}
			return v
		}
	}
	idleSince := pod.Status.StartTime.Time
	if s.lastActivity.After(idleSince) {
		idleSince = s.lastActivity
	}
	v.idle = now.Sub(idleSince)
	if v.idle > s.timeout {
		v.action = reclaim
	}
	return v
}

// busy reads the utilisation of the workspace's GPUs: busy when any
// reaches the busy threshold. Without GPUs to read there is no activity
// signal at all, which is a problem to report rather than idleness.
func (r *Reclaimer) busy(gpus []GPU) (bool, string) {
	if r.gpus == nil {
		return false, "the GPU utilization signal is not available on this node"
	}
	if len(gpus) == 0 {
		return false, "the GPU utilization signal is set but no GPU is prepared on this node for the pod's claims"
	}
	busy := false
	for _, g := range gpus {
		pct, err := r.gpus.Utilization(g.UUID)
		if err != nil {
			return false, fmt.Sprintf("reading the utilization of GPU %s: %v", g.UUID, err)
		}
		metrics.GPUUtilization.WithLabelValues(r.node, g.UUID).Set(float64(pct) / 100)
		if pct >= r.busyPercent {
			busy = true
		}
	}
	return busy, ""
}
