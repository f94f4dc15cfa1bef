package reclaim

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event reasons on workspace pods.
const (
	// ReasonReclaimed: the workspace was stopped for being idle.
	ReasonReclaimed = "WorkspaceReclaimed"
	// ReasonNotReclaimable: the workspace's reclaim annotations cannot be
	// read, so it is never reclaimed until they are fixed.
	ReasonNotReclaimable = "WorkspaceReclaimSettingsInvalid"
)

// reportingController names the reclaimer in Events.
const reportingController = "hadron.dev/workspace-reclaim"

// maxNote is the API's limit on an Event's note.
const maxNote = 1024

// event records an Event about the pod. It is written directly rather
// than through a broadcaster: the reclaim Event is the owner's record of
// a deleted pod, so it must not be dropped or merged, and the reclaimer
// writes few.
func (r *Reclaimer) event(ctx context.Context, pod *v1.Pod, eventType, reason, action, note string) error {
	if len(note) > maxNote {
		note = note[:maxNote]
	}
	now := r.clock.Now()
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()),
			Namespace: pod.Namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: reportingController,
		ReportingInstance:   reportingController + "-" + r.node,
		Action:              action,
		Reason:              reason,
		Regarding: v1.ObjectReference{
			APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
		},
		Note: note,
		Type: eventType,
	}
	if _, err := r.client.EventsV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Event %s for pod %s/%s: %w", reason, pod.Namespace, pod.Name, err)
	}
	return nil
}
