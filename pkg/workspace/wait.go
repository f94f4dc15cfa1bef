package workspace

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Stage is how far a new workspace got.
type Stage string

const (
	StagePending   Stage = "pending"
	StageScheduled Stage = "scheduled"
	StageAllocated Stage = "allocated"
	StageRunning   Stage = "running"
)

// Progress is one step of a workspace on its way to Running; WaitRunning
// reports each new one.
type Progress struct {
	Stage Stage
	Node  string
	// Devices are the allocated devices, from StageAllocated on.
	Devices []Device
	// Reason says why the workspace is not scheduled (StagePending).
	Reason PendingReason
	// Message is what holds a scheduled workspace back (a container
	// waiting reason or a warning event), if anything.
	Message string
}

func (p Progress) String() string {
	switch p.Stage {
	case StagePending:
		return "pending: " + p.Reason.String()
	case StageScheduled:
		s := "scheduled on node " + p.Node
		if p.Message != "" {
			s += "; " + p.Message
		}
		return s
	case StageAllocated:
		s := fmt.Sprintf("claims allocated on node %s: %s", p.Node, deviceSummary(p.Devices))
		if numa := numaSummary(p.Devices); numa != "-" {
			s += " (NUMA node " + numa + ")"
		}
		if p.Message != "" {
			s += "; " + p.Message
		}
		return s
	default:
		return "running on node " + p.Node
	}
}

// pollInterval is how often WaitRunning looks at the pod: a person is
// watching, and each look is a few small GETs.
const pollInterval = 250 * time.Millisecond

// WaitRunning follows the workspace until its pod runs, calling report
// whenever the progress changes. It ends when ctx ends, with an error
// that says what the workspace was still waiting for.
func (c *Client) WaitRunning(ctx context.Context, name string, report func(Progress)) (*v1.Pod, error) {
	var last Progress
	lastText := ""
	var pod *v1.Pod
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		var err error
		pod, err = c.Kube.CoreV1().Pods(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("workspace %s/%s: its pod was deleted", c.Namespace, name)
		}
		if err != nil {
			return false, nil // transient; the next poll tries again
		}
		if pod.Status.Phase == v1.PodFailed || pod.Status.Phase == v1.PodSucceeded {
			return false, fmt.Errorf("workspace %s/%s stopped (%s): %s", c.Namespace, name, pod.Status.Phase, terminatedReason(pod))
		}
		p, err := c.progress(ctx, pod)
		if apierrors.IsForbidden(err) {
			return false, err // waiting will not help; the Role lacks a right
		}
		if err != nil {
			return false, nil
		}
		if text := p.String(); text != lastText {
			lastText, last = text, p
			if report != nil {
				report(p)
			}
		}
		return p.Stage == StageRunning, nil
	})
	if err != nil {
		if ctx.Err() != nil && lastText != "" {
			return pod, fmt.Errorf("workspace %s/%s not running (%w); %s", c.Namespace, name, context.Cause(ctx), last)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return pod, fmt.Errorf("workspace %s/%s not running: %w", c.Namespace, name, err)
		}
		return pod, err
	}
	return pod, nil
}

// progress reads where a workspace pod stands.
func (c *Client) progress(ctx context.Context, pod *v1.Pod) (Progress, error) {
	if pod.Spec.NodeName == "" {
		events, err := c.events(ctx, "Pod", pod.Name)
		if err != nil {
			return Progress{}, err
		}
		return Progress{Stage: StagePending, Reason: ExplainPending(pod, events)}, nil
	}
	p := Progress{Stage: StageScheduled, Node: pod.Spec.NodeName}
	if pod.Status.Phase == v1.PodRunning {
		p.Stage = StageRunning
		return p, nil
	}
	claims, err := c.podClaims(ctx, pod)
	if err != nil {
		return Progress{}, err
	}
	if allAllocated(pod, claims) {
		p.Stage = StageAllocated
		idx, err := c.readSlices(ctx)
		if err != nil {
			return Progress{}, err
		}
		p.Devices = allocatedDevices(claims, idx)
	}
	p.Message = waitingReason(pod)
	if p.Message == "" {
		events, err := c.events(ctx, "Pod", pod.Name)
		if err != nil {
			return Progress{}, err
		}
		p.Message = latestWarning(events)
	}
	return p, nil
}

// waitingReason is why the container has not started, e.g.
// "ImagePullBackOff: ...", or empty.
func waitingReason(pod *v1.Pod) string {
	for _, s := range pod.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			if w.Message != "" {
				return w.Reason + ": " + w.Message
			}
			return w.Reason
		}
	}
	return ""
}

func terminatedReason(pod *v1.Pod) string {
	for _, s := range pod.Status.ContainerStatuses {
		if t := s.State.Terminated; t != nil {
			return fmt.Sprintf("container %s exited with code %d (%s) %s", s.Name, t.ExitCode, t.Reason, t.Message)
		}
	}
	if pod.Status.Message != "" {
		return pod.Status.Reason + ": " + pod.Status.Message
	}
	return "no reason given"
}
