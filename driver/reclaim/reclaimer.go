package reclaim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/hadron-sched/hadron/driver/metrics"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

// Defaults of Options.
const (
	DefaultInterval    = 30 * time.Second
	DefaultBusyPercent = 5
)

// Options configures a Reclaimer.
type Options struct {
	NodeName string
	Client   kubernetes.Interface
	// Interval is how often the workspaces are judged (DefaultInterval).
	Interval time.Duration
	// BusyPercent is the utilisation from which a GPU counts as busy
	// (DefaultBusyPercent): a GPU never quite reaches 0% while a CUDA
	// context sits on it.
	BusyPercent int
	// GPUs finds workspaces' GPUs; nil leaves workspaces with the GPU
	// utilisation signal alone (with a warning).
	GPUs GPUSource
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// Reclaimer stops the idle workspaces of one node.
type Reclaimer struct {
	node        string
	client      kubernetes.Interface
	interval    time.Duration
	busyPercent int
	gpus        GPUSource
	clock       clock.WithTicker

	// pods lists the workspace pods of the node (set by Run).
	pods corelisters.PodLister

	// reported holds, per pod, the problem last reported, so that a bad
	// annotation is reported once rather than every round.
	mu       sync.Mutex
	reported map[types.UID]string
}

// New checks the options and returns a Reclaimer.
func New(opts Options) (*Reclaimer, error) {
	if opts.NodeName == "" || opts.Client == nil {
		return nil, errors.New("reclaim: node name and client are required")
	}
	if opts.Interval < 0 || opts.BusyPercent < 0 || opts.BusyPercent > 100 {
		return nil, fmt.Errorf("reclaim: interval %s must not be negative and busy percent %d must be within 0-100", opts.Interval, opts.BusyPercent)
	}
	r := &Reclaimer{node: opts.NodeName, client: opts.Client, interval: opts.Interval, busyPercent: opts.BusyPercent,
		gpus: opts.GPUs, clock: opts.Clock, reported: map[types.UID]string{}}
	if r.interval == 0 {
		r.interval = DefaultInterval
	}
	if r.busyPercent == 0 {
		r.busyPercent = DefaultBusyPercent
	}
	if r.clock == nil {
		r.clock = clock.RealClock{}
	}
	metrics.Register()
	return r, nil
}

// Run watches the node's workspace pods and judges them every interval
// until ctx ends.
func (r *Reclaimer) Run(ctx context.Context) error {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", r.node, "component", "workspace-reclaim")
	ctx = klog.NewContext(ctx, logger)
	factory := informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", r.node).String()
		o.LabelSelector = workspace.LabelWorkspace
	}))
	informer := factory.Core().V1().Pods()
	r.pods = informer.Lister()
	informer.Informer() // registers the informer before Start
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return fmt.Errorf("reclaim: pod cache of node %s did not sync: %w", r.node, context.Cause(ctx))
	}
	logger.Info("Reclaiming idle workspaces", "interval", r.interval, "busyPercent", r.busyPercent)
	ticker := r.clock.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
		r.pass(ctx)
	}
}

// pass judges every workspace pod of the node once.
func (r *Reclaimer) pass(ctx context.Context) {
	pods, err := r.pods.List(labels.Everything())
	if err != nil {
		klog.FromContext(ctx).Error(err, "Listing workspace pods")
		return
	}
	live := make(map[types.UID]bool, len(pods))
	for _, pod := range pods {
		live[pod.UID] = true
		r.check(ctx, pod)
	}
	r.mu.Lock()
	for uid := range r.reported {
		if !live[uid] {
			delete(r.reported, uid)
		}
	}
	r.mu.Unlock()
}

// check judges one workspace pod and acts on the verdict.
func (r *Reclaimer) check(ctx context.Context, pod *v1.Pod) {
	if pod.Spec.NodeName != r.node || pod.Labels[workspace.LabelWorkspace] == "" {
		return
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "pod", klog.KObj(pod), "workspace", pod.Labels[workspace.LabelWorkspace])
	ctx = klog.NewContext(ctx, logger)
	now := r.clock.Now()
	v := r.decide(pod, now)
	r.report(ctx, pod, v.problem)
	switch v.action {
	case markActive:
		if err := r.markActive(ctx, pod, now); err != nil {
			metrics.ReclaimErrors.WithLabelValues(r.node, "mark_active").Inc()
			logger.Error(err, "Recording GPU activity")
		}
	case reclaim:
		r.reclaim(ctx, pod, v, now)
	}
}

// report logs a problem that keeps a workspace from being judged, and
// tells its owner with a Warning Event, once per pod and problem.
func (r *Reclaimer) report(ctx context.Context, pod *v1.Pod, problem string) {
	r.mu.Lock()
	last, seen := r.reported[pod.UID]
	if problem == "" {
		delete(r.reported, pod.UID)
	} else {
		r.reported[pod.UID] = problem
	}
	r.mu.Unlock()
	if problem == "" || (seen && last == problem) {
		return
	}
	metrics.ReclaimErrors.WithLabelValues(r.node, "annotation").Inc()
	klog.FromContext(ctx).Info("Warning: not judging workspace idleness; it will not be reclaimed", "problem", problem)
	if err := r.event(ctx, pod, v1.EventTypeWarning, ReasonNotReclaimable, "Check", "Idle reclaim is off for this workspace: "+problem); err != nil {
		metrics.ReclaimErrors.WithLabelValues(r.node, "event").Inc()
		klog.FromContext(ctx).Error(err, "Reporting a workspace annotation problem")
	}
}

// markActive writes now as the workspace's last activity.
func (r *Reclaimer) markActive(ctx context.Context, pod *v1.Pod, now time.Time) error {
	patch, err := annotationPatch(workspace.AnnotationLastActivity, now.UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	if _, err := r.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch pod %s: %w", klog.KObj(pod), err)
	}
	klog.FromContext(ctx).V(4).Info("Workspace GPUs busy: recorded activity")
	return nil
}

// annotationPatch is a merge patch setting one annotation.
func annotationPatch(key, value string) ([]byte, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return nil, fmt.Errorf("encode patch of %s: %w", key, err)
	}
	return patch, nil
}

// reclaim stops an idle workspace. The pod is deleted first, on the
// condition that it is still the version judged: a heartbeat written
// meanwhile changes it, and the delete then fails and the workspace is
// judged again next round. Only once the pod is going do the Event, the
// Service annotation and the metrics say it was reclaimed.
func (r *Reclaimer) reclaim(ctx context.Context, pod *v1.Pod, v verdict, now time.Time) {
	logger := klog.FromContext(ctx)
	uid, rv := pod.UID, pod.ResourceVersion
	err := r.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
	})
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		logger.V(2).Info("Workspace changed before it could be reclaimed; judging it again next round", "err", err)
		return
	case err != nil:
		metrics.ReclaimErrors.WithLabelValues(r.node, "delete").Inc()
		logger.Error(err, "Deleting idle workspace pod")
		return
	}
	idle, timeout := v.idle.Round(time.Second), v.timeout
	reason := fmt.Sprintf("idle for %s, longer than its idle timeout %s (activity signal %s)", idle, timeout, v.signal)
	logger.Info("Reclaimed idle workspace", "idle", idle, "timeout", timeout, "signal", v.signal, "gpus", len(v.gpus))

	r.recordMetrics(v)
	if err := r.event(ctx, pod, v1.EventTypeNormal, ReasonReclaimed, "Delete", "Workspace stopped: "+reason+"; its devices are released"); err != nil {
		metrics.ReclaimErrors.WithLabelValues(r.node, "event").Inc()
		logger.Error(err, "Recording the reclaim Event")
	}
	if err := r.annotateService(ctx, pod, now.UTC().Format(time.RFC3339)+" "+reason); err != nil {
		metrics.ReclaimErrors.WithLabelValues(r.node, "service").Inc()
		logger.Error(err, "Annotating the workspace Service")
	}
}

// recordMetrics counts a reclaimed workspace and the idle GPU time and
// energy it held.
func (r *Reclaimer) recordMetrics(v verdict) {
	metrics.ReclaimedWorkspaces.WithLabelValues(r.node, v.signal).Inc()
	if len(v.gpus) == 0 {
		return
	}
	idle := v.idle.Seconds()
	var watts int64
	for _, g := range v.gpus {
		watts += g.IdleWatts
	}
	metrics.ReclaimedGPUs.WithLabelValues(r.node).Add(float64(len(v.gpus)))
	metrics.IdleGPUSeconds.WithLabelValues(r.node).Add(idle * float64(len(v.gpus)))
	metrics.IdleEnergy.WithLabelValues(r.node).Add(idle * float64(watts))
}

// annotateService marks the workspace's Service (same name as the
// workspace, carrying the same workspace label) as reclaimed. A workspace
// without a Service is fine.
func (r *Reclaimer) annotateService(ctx context.Context, pod *v1.Pod, value string) error {
	name := pod.Labels[workspace.LabelWorkspace]
	svc, err := r.client.CoreV1().Services(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		klog.FromContext(ctx).V(2).Info("Workspace has no Service to mark as reclaimed", "service", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get Service %s/%s: %w", pod.Namespace, name, err)
	}
	if svc.Labels[workspace.LabelWorkspace] != name {
		klog.FromContext(ctx).V(2).Info("Service of the workspace's name is not the workspace's; leaving it alone", "service", name)
		return nil
	}
	patch, err := annotationPatch(workspace.AnnotationReclaimed, value)
	if err != nil {
		return err
	}
	if _, err := r.client.CoreV1().Services(pod.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch Service %s/%s: %w", pod.Namespace, name, err)
	}
	return nil
}
