package workspace

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e *v1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// events lists the events about one object of the namespace, oldest
// first.
func (c *Client) events(ctx context.Context, kind, name string) ([]v1.Event, error) {
	selector := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.AsSelector().String()
	list, err := c.Kube.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list events of %s %s/%s: %w", kind, c.Namespace, name, err)
	}
	out := list.Items
	slices.SortStableFunc(out, func(a, b v1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
	return out, nil
}
