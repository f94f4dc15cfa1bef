package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// defaultPodTimeout bounds the wait for one pod's verdict.
const defaultPodTimeout = 2 * time.Minute

// Run replays opts.Workload once per policy, each on a fresh control
// plane, strictly one event at a time, and measures the placements. The
// result's Command, Seed, Commit, Machine, TraceFiles and Mode are the
// caller's to fill in; Notes holds the workload's notes and the replay's.
func Run(ctx context.Context, opts Options) (*Result, error) {
	logger := klog.FromContext(ctx)
	w := opts.Workload
	if w == nil {
		return nil, errors.New("no workload to replay")
	}
	if len(opts.Policies) == 0 {
		return nil, errors.New("no policy to replay")
	}
	if err := checkWorkload(w); err != nil {
		return nil, err
	}
	if opts.Target == nil {
		opts.Target = TargetWorkload(w)
	}
	if opts.PodTimeout <= 0 {
		opts.PodTimeout = defaultPodTimeout
	}
	workDir := opts.WorkDir
	if workDir == "" {
		dir, err := os.MkdirTemp("", "hadron-replay-")
		if err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }()
		workDir = dir
	}
	nodeSlices, models, err := renderCluster(ctx, w, filepath.Join(workDir, "machines"))
	if err != nil {
		return nil, err
	}
	res := &Result{ClusterGPUs: w.ClusterGPUs, Nodes: len(w.Nodes), Notes: append([]string(nil), w.Notes...), Started: time.Now()}
	res.Notes = append(res.Notes, replayNotes(w, models)...)
	for i, p := range opts.Policies {
		logger.Info("Replaying", "policy", p.Name, "nodes", len(w.Nodes), "events", len(w.Events))
		pr, err := runPolicy(ctx, opts, p, filepath.Join(workDir, fmt.Sprintf("policy-%d-%s", i, p.Name)), nodeSlices, models)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", p.Name, err)
		}
		logger.Info("Replayed", "policy", p.Name, "scheduled", pr.Scheduled, "failed", pr.Failed,
			"wall", pr.Wall, "podsPerSecond", pr.PodsPerSecond, "controlPlaneStartup", pr.ControlPlaneStartup)
		res.Policies = append(res.Policies, *pr)
	}
	res.Finished = time.Now()
	return res, nil
}

// checkWorkload rejects workloads the replay cannot run faithfully.
func checkWorkload(w *trace.Workload) error {
	nodes := map[string]bool{}
	for _, n := range w.Nodes {
		if n.Trace.Name == "" || nodes[n.Trace.Name] {
			return fmt.Errorf("node name %q is empty or repeated", n.Trace.Name)
		}
		nodes[n.Trace.Name] = true
	}
	tenants := map[string]bool{}
	for _, t := range w.Tenants {
		if t.Name == "" || t.Namespace == "" {
			return fmt.Errorf("tenant %q needs a name and a namespace", t.Name)
		}
		tenants[t.Name] = true
	}
	arrived := map[string]bool{}
	for i, ev := range w.Events {
		switch ev.Kind {
		case trace.Arrival:
			if ev.ID == "" || arrived[ev.ID] {
				return fmt.Errorf("event %d: pod ID %q is empty or repeated", i, ev.ID)
			}
			if !tenants[ev.Tenant] {
				return fmt.Errorf("event %d: pod %s names unknown tenant %q", i, ev.ID, ev.Tenant)
			}
			arrived[ev.ID] = true
		case trace.Departure:
			if !arrived[ev.ID] {
				return fmt.Errorf("event %d: pod %s departs before it arrives", i, ev.ID)
			}
		default:
			return fmt.Errorf("event %d: unknown kind %d", i, ev.Kind)
		}
	}
	return nil
}

// renderCluster renders every node's slices and maps the trace's GPU
// models to the product names the nodes publish.
func renderCluster(ctx context.Context, w *trace.Workload, dir string) ([][]resourceapi.ResourceSlice, modelSelector, error) {
	ms := newMachineSlices(dir)
	out := make([][]resourceapi.ResourceSlice, len(w.Nodes))
	models := modelSelector{}
	for i, n := range w.Nodes {
		s, err := ms.forNode(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		out[i] = s
		if n.Trace.Model == "" {
			continue
		}
		for _, sl := range s {
			for _, d := range sl.Spec.Devices {
				if sl.Spec.Driver != attrs.GPUDriver {
					continue
				}
				if a, ok := d.Attributes[attrs.GPUProductName]; ok && a.StringValue != nil && !slices.Contains(models[n.Trace.Model], *a.StringValue) {
					models[n.Trace.Model] = append(models[n.Trace.Model], *a.StringValue)
				}
			}
		}
	}
	klog.FromContext(ctx).V(1).Info("Rendered ResourceSlices", "machines", len(ms.rendered), "nodes", len(w.Nodes))
	return out, models, nil
}

// replayNotes describes the replay's own choices for the report.
func replayNotes(w *trace.Workload, models modelSelector) []string {
	notes := []string{
		"Every GPU is offered shared (hadron's GPU driver offers a GPU whole or shared, not both): a whole-GPU pod asks " +
			"shared.gpu.hadron.dev for 1000 milli-GPU of compute per GPU, a share for its trace milli-GPU. The sharing policy " +
			"of the simulated nodes (minimum and step 1 milli-GPU, 1Mi of memory) makes every trace request fit exactly, " +
			"without rounding up, and keeps GPU memory from limiting shares. Quotas therefore count whole GPUs as " +
			"quota.hadron.dev/gpu-milli, not quota.hadron.dev/gpus.",
		"Nodes are scheduling-only (no kubelet): pods are bound but never run. Each policy runs on a fresh control plane " +
			"with parallelism 1 and percentageOfNodesToScore 100, and events are replayed one at a time, so that a seed gives " +
			"the same placements on every run.",
	}
	seen := map[string]string{}
	for _, model := range slices.Sorted(maps.Keys(models)) {
		for _, p := range models[model] {
			if other, ok := seen[p]; ok && other != model {
				notes = append(notes, fmt.Sprintf("GPU models %s and %s are both simulated as %s: gpu_spec cannot tell them apart.", other, model, p))
			}
			seen[p] = model
		}
	}
	for _, t := range w.Tenants {
		if _, ok := t.Quota["quota.hadron.dev/gpus"]; ok {
			notes = append(notes, fmt.Sprintf("Tenant %s limits quota.hadron.dev/gpus, which no shared GPU counts against.", t.Name))
		}
	}
	return notes
}
