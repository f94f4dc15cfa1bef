package workspace

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PhaseReclaimed is shown for a workspace whose pod the idle reclaimer
// stopped: its Service remains, with AnnotationReclaimed.
const PhaseReclaimed = "Reclaimed"

// Summary is one workspace as `hadron workspace list` shows it.
type Summary struct {
	Name    string
	Profile string
	// Phase is the pod's phase, Terminating, or PhaseReclaimed.
	Phase   string
	Node    string
	Devices []Device
	// NUMAKnown is false when the user may not read ResourceSlices.
	NUMAKnown bool
	Created   time.Time
	// LastActivity is AnnotationLastActivity, zero when absent.
	LastActivity time.Time
	// Reclaimed is AnnotationReclaimed of the Service, if the pod is gone.
	Reclaimed string
	Pod       *v1.Pod
	Service   *v1.Service
	Claims    []*resourceapi.ResourceClaim
}

// NUMA is the devices' NUMA nodes, or "-" when unknown or none.
func (s Summary) NUMA() string {
	if !s.NUMAKnown {
		return "-"
	}
	return numaSummary(s.Devices)
}

// Idle is how long since the last recorded activity, or 0 when none was
// recorded.
func (s Summary) Idle(now time.Time) time.Duration {
	if s.LastActivity.IsZero() || s.Pod == nil {
		return 0
	}
	return now.Sub(s.LastActivity).Truncate(time.Second)
}

// List returns the namespace's workspaces by name: those with a pod, and
// reclaimed ones whose Service remains.
func (c *Client) List(ctx context.Context) ([]Summary, error) {
	selector := metav1.ListOptions{LabelSelector: LabelWorkspace}
	pods, err := c.Kube.CoreV1().Pods(c.Namespace).List(ctx, selector)
	if err != nil {
		return nil, fmt.Errorf("list workspace pods in %s: %w", c.Namespace, err)
	}
	services, err := c.Kube.CoreV1().Services(c.Namespace).List(ctx, selector)
	if err != nil {
		return nil, fmt.Errorf("list workspace Services in %s: %w", c.Namespace, err)
	}
	idx, err := c.readSlices(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Summary{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		s, err := c.summarize(ctx, pod, idx)
		if err != nil {
			return nil, err
		}
		byName[s.Name] = &s
	}
	for i := range services.Items {
		svc := &services.Items[i]
		name := svc.Labels[LabelWorkspace]
		if s, ok := byName[name]; ok {
			s.Service = svc
			continue
		}
		reclaimed, ok := svc.Annotations[AnnotationReclaimed]
		if !ok {
			continue // a Service being created or deleted with its pod
		}
		byName[name] = &Summary{
			Name: name, Profile: svc.Labels[LabelProfile], Phase: PhaseReclaimed, Node: "-", NUMAKnown: idx != nil,
			Created: svc.CreationTimestamp.Time, Reclaimed: reclaimed, Service: svc,
		}
	}
	out := make([]Summary, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// summarize reads a workspace pod's claims and devices.
func (c *Client) summarize(ctx context.Context, pod *v1.Pod, idx sliceIndex) (Summary, error) {
	claims, err := c.podClaims(ctx, pod)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{
		Name: pod.Labels[LabelWorkspace], Profile: pod.Labels[LabelProfile], Phase: string(pod.Status.Phase),
		Node: pod.Spec.NodeName, Devices: allocatedDevices(claims, idx), NUMAKnown: idx != nil,
		Created: pod.CreationTimestamp.Time, Pod: pod, Claims: claims,
	}
	if s.Name == "" {
		s.Name = pod.Name
	}
	if s.Node == "" {
		s.Node = "-"
	}
	if pod.DeletionTimestamp != nil {
		s.Phase = "Terminating"
	}
	if t, err := time.Parse(time.RFC3339, pod.Annotations[AnnotationLastActivity]); err == nil {
		s.LastActivity = t
	}
	return s, nil
}

// Detail is one workspace as `hadron workspace describe` shows it.
type Detail struct {
	Summary
	Template *resourceapi.ResourceClaimTemplate
	// Pending says why the pod is not scheduled, when it is not.
	Pending *PendingReason
	Events  []v1.Event
}

// Describe reads one workspace with its claims and events.
func (c *Client) Describe(ctx context.Context, name string) (Detail, error) {
	list, err := c.List(ctx)
	if err != nil {
		return Detail{}, err
	}
	i := slices.IndexFunc(list, func(s Summary) bool { return s.Name == name })
	if i < 0 {
		return Detail{}, fmt.Errorf("no workspace %q in namespace %s (hadron workspace list shows them)", name, c.Namespace)
	}
	d := Detail{Summary: list[i]}
	if tmpl, err := c.Kube.ResourceV1().ResourceClaimTemplates(c.Namespace).Get(ctx, name, metav1.GetOptions{}); err == nil && tmpl.Labels[LabelWorkspace] == name {
		d.Template = tmpl
	}
	if d.Pod != nil {
		if d.Events, err = c.events(ctx, "Pod", d.Pod.Name); err != nil {
			return Detail{}, err
		}
		if d.Pod.Spec.NodeName == "" {
			d.Pending = new(ExplainPending(d.Pod, d.Events))
		}
	}
	for _, claim := range d.Claims {
		events, err := c.events(ctx, "ResourceClaim", claim.Name)
		if err != nil {
			return Detail{}, err
		}
		d.Events = append(d.Events, events...)
	}
	slices.SortStableFunc(d.Events, func(a, b v1.Event) int { return eventTime(&a).Compare(eventTime(&b)) })
	return d, nil
}
