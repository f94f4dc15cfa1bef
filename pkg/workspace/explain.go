package workspace

import (
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// PendingKind classifies why a workspace is not scheduled.
type PendingKind string

const (
	// PendingWaiting: the scheduler has not looked at the pod yet.
	PendingWaiting PendingKind = "waiting"
	// PendingQuota: the tenant's quota does not allow the devices, or the
	// tenant's pods are held (TenantQuota).
	PendingQuota PendingKind = "quota"
	// PendingAlignment: nodes have the devices, but not together on one
	// value of the aligned attribute (DeviceAlignment).
	PendingAlignment PendingKind = "alignment"
	// PendingCapacity: no node has the devices or resources free.
	PendingCapacity PendingKind = "capacity"
	// PendingOther: unschedulable for another reason.
	PendingOther PendingKind = "unschedulable"
)

// PendingReason says in plain words why a workspace waits, with the
// scheduler's own message as detail.
type PendingReason struct {
	Kind    PendingKind
	Summary string
	Detail  string
}

func (r PendingReason) String() string {
	if r.Detail == "" {
		return r.Summary
	}
	return r.Summary + ": " + r.Detail
}

// ExplainPending reads the pod's PodScheduled condition (or else the
// latest FailedScheduling event) and classifies it. Quota comes first:
// TenantQuota turns a pod away before any node is looked at, so its
// message is the whole story.
func ExplainPending(pod *v1.Pod, events []v1.Event) PendingReason {
	msg := ""
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			msg = c.Message
		}
	}
	if msg == "" {
		msg = latestEvent(events, "FailedScheduling")
	}
	msg = trimPreemption(msg)
	switch {
	case msg == "":
		return PendingReason{Kind: PendingWaiting, Summary: "waiting for hadron-scheduler"}
	case strings.Contains(msg, "quota.hadron.dev/") && strings.Contains(msg, "exceeded"):
		return PendingReason{Kind: PendingQuota, Detail: fromTenant(msg),
			Summary: "over your tenant's quota (hadron workspace quota shows it); delete a workspace or ask your admin for more"}
	case strings.Contains(msg, "held until") || strings.Contains(msg, "quota caches not synced") || strings.Contains(msg, "names tenant"):
		return PendingReason{Kind: PendingQuota, Detail: fromTenant(msg),
			Summary: "the scheduler holds your tenant's workspaces until its quota can be checked"}
	case strings.Contains(msg, "value on this node has"):
		return PendingReason{Kind: PendingAlignment, Detail: msg,
			Summary: "no node has the devices free together on one NUMA node (or the attribute the profile aligns on)"}
	case strings.Contains(msg, "cannot allocate all claims") || strings.Contains(msg, "Insufficient") ||
		strings.Contains(msg, "unallocated") || strings.Contains(msg, "no nodes available"):
		return PendingReason{Kind: PendingCapacity, Detail: msg,
			Summary: "no node has the requested devices or resources free right now; it starts when some are released"}
	default:
		return PendingReason{Kind: PendingOther, Detail: msg, Summary: "the scheduler cannot place the workspace yet"}
	}
}

// latestEvent is the message of the newest event with the reason.
func latestEvent(events []v1.Event, reason string) string {
	var newest *v1.Event
	for i := range events {
		e := &events[i]
		if e.Reason != reason {
			continue
		}
		if newest == nil || eventTime(e).After(eventTime(newest)) {
			newest = e
		}
	}
	if newest == nil {
		return ""
	}
	return newest.Message
}

// latestWarning is the newest Warning event's "reason: message".
func latestWarning(events []v1.Event) string {
	warnings := slices.DeleteFunc(slices.Clone(events), func(e v1.Event) bool { return e.Type != v1.EventTypeWarning })
	slices.SortStableFunc(warnings, func(a, b v1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
	if len(warnings) == 0 {
		return ""
	}
	last := warnings[len(warnings)-1]
	return last.Reason + ": " + last.Message
}

// trimPreemption drops the scheduler's note on preemption (". preemption:
// 0/4 nodes are available: ..."), which says nothing a user can act on.
func trimPreemption(msg string) string {
	if i := strings.Index(msg, " preemption: "); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(msg), ".")
}

// fromTenant keeps a quota message from `tenant "..."` on: TenantQuota
// rejects before any node is looked at, so the scheduler's "0/N nodes are
// available" prefix only distracts.
func fromTenant(msg string) string {
	if i := strings.Index(msg, `tenant "`); i > 0 {
		return msg[i:]
	}
	return msg
}
