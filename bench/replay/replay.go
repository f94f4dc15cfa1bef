package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	res := &Result{ClusterGPUs: w.ClusterGPUs, Nodes: len(w.Nodes), Notes: append([]string(nil), w.Notes...), Started: time.Now(),
		Concurrency: opts.Concurrency}
	res.Notes = append(res.Notes, replayNotes(w, models, opts.Policies)...)
	results, resumed, err := runPolicies(ctx, opts, workDir, nodeSlices, models)
	if err != nil {
		return nil, err
	}
	res.Policies, res.Resumed = results, resumed
	res.Finished = time.Now()
	return res, nil
}

// runPolicies replays every policy, opts.Concurrency at a time, started
// in order; the results keep the policies' order. The first failure
// cancels the others. Policies resumed from checkpoints are named in
// resumed.
func runPolicies(ctx context.Context, opts Options, workDir string, nodeSlices [][]resourceapi.ResourceSlice, models modelSelector) (_ []PolicyResult, resumed []string, _ error) {
	logger := klog.FromContext(ctx)
	w := opts.Workload
	var combined *combinedProgress
	if opts.Progress != nil && opts.Concurrency > 1 {
		combined = newCombinedProgress(opts.Progress, len(opts.Policies), len(w.Events))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]PolicyResult, len(opts.Policies))
	errs := make([]error, len(opts.Policies))
	slots := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, p := range opts.Policies {
		key, file, err := checkpointOf(opts, i, p)
		if err != nil {
			return nil, nil, err
		}
		if opts.Resume && file != "" {
			saved, err := loadCheckpoint(file, key)
			if err != nil {
				return nil, nil, err
			}
			if saved != nil {
				logger.Info("Reusing the result of an earlier run", "policy", p.Name, "checkpoint", file)
				results[i] = *saved
				resumed = append(resumed, p.Name)
				if combined != nil {
					combined.skip(len(w.Events))
				}
				continue
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		popts := opts
		if combined != nil {
			popts.Progress = func(_ string, done, _ int) { combined.update(i, done) }
		}
		wg.Go(func() {
			defer func() { <-slots }()
			logger.Info("Replaying", "policy", p.Name, "nodes", len(w.Nodes), "events", len(w.Events))
			pr, err := runPolicy(ctx, popts, p, filepath.Join(workDir, fmt.Sprintf("policy-%d-%s", i, p.Name)), nodeSlices, models)
			if err == nil && file != "" {
				err = saveCheckpoint(file, key, pr)
			}
			if err != nil {
				errs[i] = fmt.Errorf("policy %s: %w", p.Name, err)
				cancel()
				return
			}
			logger.Info("Replayed", "policy", p.Name, "scheduled", pr.Scheduled, "failed", pr.Failed,
				"wall", pr.Wall, "podsPerSecond", pr.PodsPerSecond, "controlPlaneStartup", pr.ControlPlaneStartup)
			results[i] = *pr
		})
	}
	wg.Wait()
	// A policy's own failure explains the others' cancellation.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return results, resumed, nil
}

// checkpointOf is policy i's checkpoint key and file; no file without
// Options.CheckpointDir.
func checkpointOf(opts Options, i int, p Policy) (key, file string, err error) {
	if opts.CheckpointDir == "" {
		return "", "", nil
	}
	key, err = checkpointKey(opts.Workload, p, opts.CodeVersion)
	if err != nil {
		return "", "", err
	}
	return key, checkpointFile(opts.CheckpointDir, i, p), nil
}

// combinedProgress reports policies replaying at once as one task: the
// events done over all policies, of all policies' events, less those of
// policies reused from checkpoints (so that the rate and time left are
// the replay's own).
type combinedProgress struct {
	report func(string, int, int)
	mu     sync.Mutex
	done   map[int]int // by policy index: names may repeat
	total  int
}

func newCombinedProgress(report func(string, int, int), policies, events int) *combinedProgress {
	return &combinedProgress{report: report, done: map[int]int{}, total: policies * events}
}

// skip takes a reused policy's events out of the total.
func (c *combinedProgress) skip(events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total -= events
}

// update records that the policy at index has done events.
func (c *combinedProgress) update(index, done int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done[index] = done
	sum := 0
	for _, d := range c.done {
		sum += d
	}
	c.report("policies to replay", sum, c.total)
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
func replayNotes(w *trace.Workload, models modelSelector, policies []Policy) []string {
	notes := []string{
		"Every GPU is offered shared (hadron's GPU driver offers a GPU whole or shared, not both): a whole-GPU pod asks " +
			"shared.gpu.hadron.dev for 1000 milli-GPU of compute per GPU, a share for its trace milli-GPU. The sharing policy " +
			"of the simulated nodes (minimum and step 1 milli-GPU, 1Mi of memory) makes every trace request fit exactly, " +
			"without rounding up, and keeps GPU memory from limiting shares. Quotas therefore count whole GPUs as " +
			"quota.hadron.dev/gpu-milli, not quota.hadron.dev/gpus.",
		"Nodes are scheduling-only (no kubelet): pods are bound but never run. Each policy runs on a fresh control plane " +
			"with parallelism 1, and events are replayed one at a time, so that a seed gives the same placements on every run.",
	}
	notes = append(notes, nodesToScoreNotes(len(w.Nodes), policies)...)
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

// nodesToScoreNotes says how many nodes each pod's search examines.
func nodesToScoreNotes(nodes int, policies []Policy) []string {
	if len(policies) == 0 {
		return nil
	}
	same := true
	for _, p := range policies {
		same = same && p.PercentageOfNodesToScore == policies[0].PercentageOfNodesToScore
	}
	var notes []string
	for _, p := range policies {
		who := "Policy " + p.Name
		if same {
			who = "Every policy"
		}
		notes = append(notes, nodesToScoreNote(who, nodes, p.PercentageOfNodesToScore))
		if same {
			break
		}
	}
	return notes
}

func nodesToScoreNote(who string, nodes int, pct int32) string {
	find := FeasibleNodesToFind(pct, nodes)
	switch {
	case find >= nodes:
		return fmt.Sprintf("%s filters and scores every node for every pod (percentageOfNodesToScore %d).", who, pct)
	case pct == AdaptiveNodesToScore:
		return fmt.Sprintf("%s runs with kube-scheduler's adaptive percentageOfNodesToScore, as a deployed scheduler does: "+
			"on %d nodes a pod's search stops once %d feasible nodes (%d%%) are found, starting where the previous pod's "+
			"search stopped, and only those are scored; a pod that fits few nodes is still checked against every node.",
			who, nodes, find, find*100/nodes)
	default:
		return fmt.Sprintf("%s runs with percentageOfNodesToScore %d: on %d nodes a pod's search stops once %d feasible "+
			"nodes are found, starting where the previous pod's search stopped, and only those are scored.", who, pct, nodes, find)
	}
}

// Bounds of kube-scheduler's search for feasible nodes
// (pkg/scheduler's minFeasibleNodesToFind and
// minFeasibleNodesPercentageToFind).
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// FeasibleNodesToFind is how many feasible nodes kube-scheduler looks for
// before it stops filtering, for a percentageOfNodesToScore on a cluster
// of nodes nodes (its numFeasibleNodesToFind).
func FeasibleNodesToFind(percentage int32, nodes int) int {
	if nodes < minFeasibleNodesToFind {
		return nodes
	}
	pct := int(percentage)
	if pct == 0 {
		pct = max(50-nodes/125, minFeasibleNodesPercentageToFind)
	}
	return max(nodes*pct/100, minFeasibleNodesToFind)
}
