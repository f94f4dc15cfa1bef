package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/bench/trace"
)

// replayer is one policy's replay in progress.
type replayer struct {
	opts       Options
	policy     Policy
	client     kubernetes.Interface
	models     modelSelector
	namespaces map[string]string // tenant → namespace
	nodes      []*nodeState
	nodeByName map[string]*nodeState
	ledger     *ledger
	placed     map[string]*placement
	// numaGPUs is the most GPUs one NUMA node of the cluster holds: a
	// pod with more cannot be aligned anywhere.
	numaGPUs int
	res      *PolicyResult
}

// runPolicy replays the workload under one policy on a fresh control
// plane, which it stops again.
func runPolicy(ctx context.Context, opts Options, p Policy, workDir string, nodeSlices [][]resourceapi.ResourceSlice, models modelSelector) (_ *PolicyResult, err error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "policy", p.Name)
	ctx = klog.NewContext(ctx, logger)
	w := opts.Workload
	cp, err := startControlPlane(ctx, opts, p, workDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if stopErr := cp.stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop control plane: %w", stopErr))
		}
	}()
	res := &PolicyResult{Policy: p.Name, Placements: map[string]string{}, FailedByReason: map[string]int{},
		ControlPlaneStartup: cp.cluster.StartupTime}
	setupStart := time.Now()
	last := lastDeviceSlice(nodeSlices)
	if err := cp.install(ctx, w, nodeSlices, last); err != nil {
		return nil, err
	}

	r := &replayer{opts: opts, policy: p, client: cp.client, models: models, namespaces: map[string]string{},
		nodeByName: map[string]*nodeState{}, placed: map[string]*placement{}, res: res}
	pools := slicePools{}
	for i, n := range w.Nodes {
		ns := newNodeState(n, nodeSlices[i])
		r.nodes = append(r.nodes, ns)
		r.nodeByName[ns.name] = ns
		r.numaGPUs = max(r.numaGPUs, ns.gpusPerNUMA())
		for j := range nodeSlices[i] {
			pools.add(&nodeSlices[i][j])
		}
	}
	if r.ledger, err = newLedger(w.Tenants, pools); err != nil {
		return nil, err
	}
	for _, t := range w.Tenants {
		r.namespaces[t.Name] = t.Namespace
	}
	if err := r.warmUp(ctx, last); err != nil {
		return nil, err
	}
	res.Setup = time.Since(setupStart)
	logger.V(1).Info("Cluster installed", "controlPlaneStartup", res.ControlPlaneStartup, "setup", res.Setup)

	start := time.Now()
	arrivals := 0
	for i, ev := range w.Events {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch ev.Kind {
		case trace.Arrival:
			arrivals++
			if err := r.arrive(ctx, ev); err != nil {
				return nil, fmt.Errorf("arrival of %s: %w", ev.ID, err)
			}
			sample, err := r.sample(ev)
			if err != nil {
				return nil, err
			}
			res.Samples = append(res.Samples, sample)
		case trace.Departure:
			if err := r.depart(ctx, ev); err != nil {
				return nil, fmt.Errorf("departure of %s: %w", ev.ID, err)
			}
		}
		if opts.Progress != nil {
			opts.Progress(p.Name, i+1, len(w.Events))
		}
	}
	res.Wall = time.Since(start)
	// Nodes that lost Ready or gained a taint during the replay would
	// have turned pods away for reasons of this harness.
	if err := cp.checkNodes(ctx); err != nil {
		return nil, err
	}
	if res.Wall > 0 {
		res.PodsPerSecond = float64(arrivals) / res.Wall.Seconds()
	}
	res.QuotaOvershoot, res.QuotaOvershootResource = r.ledger.overshoot, string(r.ledger.overshootResource)
	return res, nil
}

// arrive submits one pod (and its claim) and waits for the scheduler's
// verdict. Pods that fail are deleted with their claims.
func (r *replayer) arrive(ctx context.Context, ev trace.Event) error {
	ns := r.namespaces[ev.Tenant]
	claim := claimObject(ev, ns, r.models)
	if claim != nil {
		if _, err := r.client.ResourceV1().ResourceClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create claim: %w", err)
		}
	}
	submitted := time.Now()
	pod, err := r.client.CoreV1().Pods(ns).Create(ctx, podObject(ev, ns, r.policy.ProfileName, claim), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod: %w", err)
	}
	node, failure, err := r.waitVerdict(ctx, pod)
	if err != nil {
		return err
	}
	r.res.Latencies = append(r.res.Latencies, time.Since(submitted))
	if node == "" {
		reason := classifyFailure(failure)
		klog.FromContext(ctx).V(2).Info("Pod unschedulable", "pod", klog.KObj(pod), "reason", reason, "message", failure)
		r.res.Failed++
		r.res.FailedByReason[reason]++
		r.res.Placements[ev.ID] = ""
		return r.remove(ctx, ns, ev.ID, claim != nil)
	}
	p, err := r.placementOf(ctx, ev, ns, node, claim != nil)
	if err != nil {
		return err
	}
	r.nodeByName[node].apply(p, 1)
	r.ledger.add(ev.Tenant, p.cost, 1)
	r.placed[ev.ID] = p
	r.res.Scheduled++
	r.res.Placements[ev.ID] = p.String()
	switch n := len(p.gpus); {
	case n > r.numaGPUs:
		r.res.UnalignablePods++
	case n > 1:
		r.res.MultiDevicePods++
		if r.nodeByName[node].aligned(p) {
			r.res.AlignedPods++
		}
	}
	return nil
}

// placementOf reads where a bound pod's claim was allocated.
func (r *replayer) placementOf(ctx context.Context, ev trace.Event, ns, node string, hasClaim bool) (*placement, error) {
	state, ok := r.nodeByName[node]
	if !ok {
		return nil, fmt.Errorf("bound to unknown node %s", node)
	}
	p := &placement{node: node, tenant: ev.Tenant, cpu: ev.Pod.CPUMilli, gpus: map[int]int64{}}
	if !hasClaim {
		return p, nil
	}
	claim, err := r.client.ResourceV1().ResourceClaims(ns).Get(ctx, ev.ID, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read claim: %w", err)
	}
	if claim.Status.Allocation == nil {
		return nil, fmt.Errorf("pod bound to %s but its claim is not allocated", node)
	}
	if p.gpus, p.devices, err = gpuPlacement(state, claim.Status.Allocation); err != nil {
		return nil, err
	}
	p.cost = r.ledger.price(claim.Status.Allocation)
	return p, nil
}

// depart deletes a placed pod and its claim; departures of pods that
// failed do nothing.
func (r *replayer) depart(ctx context.Context, ev trace.Event) error {
	p, ok := r.placed[ev.ID]
	if !ok {
		return nil
	}
	delete(r.placed, ev.ID)
	if err := r.remove(ctx, r.namespaces[ev.Tenant], ev.ID, len(p.devices) > 0); err != nil {
		return err
	}
	r.nodeByName[p.node].apply(p, -1)
	r.ledger.add(p.tenant, p.cost, -1)
	return nil
}

// remove deletes a pod at once and then its claim, and waits until the
// claim is gone: only then is its allocation released for the next pod.
func (r *replayer) remove(ctx context.Context, ns, name string, hasClaim bool) error {
	err := r.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod: %w", err)
	}
	if !hasClaim {
		return nil
	}
	claims := r.client.ResourceV1().ResourceClaims(ns)
	if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete claim: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.PodTimeout)
	defer cancel()
	for {
		claim, err := claims.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim %s/%s not deleted: %w", ns, name, err)
		}
		if err := waitDeleted(ctx, claims, claim); err != nil {
			return fmt.Errorf("claim %s/%s not deleted: %w", ns, name, err)
		}
	}
}

// claimWatcher is what waitDeleted needs of the claims API.
type claimWatcher interface {
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// waitDeleted watches a claim from the version read until it is deleted;
// it returns early (nil) when the watch ends, for the caller to re-read.
func waitDeleted(ctx context.Context, claims claimWatcher, claim *resourceapi.ResourceClaim) error {
	wi, err := claims.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", claim.Name).String(),
		ResourceVersion: claim.ResourceVersion,
	})
	if err != nil {
		return err
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-wi.ResultChan():
			if !ok || ev.Type == watch.Deleted {
				return nil
			}
			if ev.Type == watch.Error {
				return apierrors.FromObject(ev.Object)
			}
		}
	}
}

// waitVerdict waits until the pod is bound (its node) or reported
// unschedulable (the scheduler's message).
func (r *replayer) waitVerdict(ctx context.Context, pod *v1.Pod) (node, failure string, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.PodTimeout)
	defer cancel()
	pods := r.client.CoreV1().Pods(pod.Namespace)
	current := pod
	for {
		if node, failure, done := verdict(current); done {
			return node, failure, nil
		}
		wi, err := pods.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", pod.Name).String(),
			ResourceVersion: current.ResourceVersion,
		})
		if err != nil {
			return "", "", fmt.Errorf("watch pod %s: %w", klog.KObj(pod), err)
		}
		current, err = nextVerdict(ctx, wi)
		wi.Stop()
		if err != nil {
			return "", "", fmt.Errorf("pod %s: neither bound nor unschedulable: %w", klog.KObj(pod), err)
		}
		if current == nil {
			// The watch ended: read the pod again and go on watching.
			if current, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
				return "", "", fmt.Errorf("read pod %s: %w", klog.KObj(pod), err)
			}
		}
	}
}

// nextVerdict reads pod versions from a watch until one has a verdict; nil
// when the watch ends first.
func nextVerdict(ctx context.Context, wi watch.Interface) (*v1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return nil, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return nil, errors.New("pod deleted while waiting")
			case watch.Error:
				return nil, apierrors.FromObject(ev.Object)
			}
			pod, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			if _, _, done := verdict(pod); done {
				return pod, nil
			}
		}
	}
}

// verdict is the scheduler's decision on a pod, if it made one: its
// node, or the message of a PodScheduled=False condition. Verdicts of a
// scheduler still syncing its caches are not final: it retries.
func verdict(pod *v1.Pod) (node, failure string, done bool) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, "", true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			if transientFailure(c.Message) {
				return "", "", false
			}
			return "", c.Message, true
		}
	}
	return "", "", false
}

// sample measures the cluster after an arrival.
func (r *replayer) sample(ev trace.Event) (Sample, error) {
	frag, err := fragmentedGPUs(r.nodes, r.opts.Target)
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		ArrivedGPUDemand: ev.ArrivedGPUDemand,
		AllocatedGPUs:    allocatedGPUs(r.nodes),
		FragmentedGPUs:   frag,
		PowerWatts:       powerWatts(r.nodes),
	}, nil
}
