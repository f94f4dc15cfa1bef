package trace

import (
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hadron-sched/hadron/pkg/quota"
)

func excerpt(t *testing.T) ([]Node, []Pod) {
	t.Helper()
	nodes, pods, err := Excerpt()
	if err != nil {
		t.Fatal(err)
	}
	return nodes, pods
}

func mustWorkload(t *testing.T, nodes []Node, pods []Pod, opts Options) *Workload {
	t.Helper()
	w, err := BuildWorkload(nodes, pods, opts)
	if err != nil {
		t.Fatalf("BuildWorkload(%+v) = %v", opts, err)
	}
	return w
}

func TestBuildWorkloadIsDeterministic(t *testing.T) {
	nodes, pods := excerpt(t)
	for _, opts := range []Options{
		{Seed: 7},
		{Seed: 7, Mode: DeparturesMode},
		{Seed: 7, SampleNodes: 20, GPUNodesOnly: true, TargetDemand: 2},
	} {
		a := mustWorkload(t, nodes, pods, opts)
		b := mustWorkload(t, nodes, pods, opts)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%+v: two builds differ", opts)
		}
		opts.Seed = 8
		c := mustWorkload(t, nodes, pods, opts)
		if reflect.DeepEqual(a.Events, c.Events) {
			t.Errorf("%+v: seeds 7 and 8 give the same events", opts)
		}
	}
}

var idPattern = regexp.MustCompile(`^p-[0-9]{6,}$`)

func TestDemandMode(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{Seed: 1, TargetDemand: 1.3})
	if w.ClusterGPUs != 313 || len(w.Nodes) != 67 {
		t.Fatalf("cluster: %d nodes, %d GPUs; want the excerpt's 67 and 313", len(w.Nodes), w.ClusterGPUs)
	}
	var milli int64
	cpuOnly := 0
	for i, e := range w.Events {
		if e.Kind != Arrival {
			t.Fatalf("event %d is a departure in demand mode", i)
		}
		if e.ID != eventID(i) || !idPattern.MatchString(e.ID) || e.Time != int64(i) {
			t.Fatalf("event %d: ID %q, time %d", i, e.ID, e.Time)
		}
		milli += e.Pod.GPUMilliDemand()
		if want := float64(milli) / 1000 / 313; math.Abs(e.ArrivedGPUDemand-want) > 1e-12 {
			t.Fatalf("event %d: ArrivedGPUDemand %v, want %v", i, e.ArrivedGPUDemand, want)
		}
		if e.Pod.NumGPU == 0 {
			cpuOnly++
		}
	}
	last := w.Events[len(w.Events)-1]
	if last.ArrivedGPUDemand < 1.3 {
		t.Errorf("arrivals stop at demand %v, below the target 1.3", last.ArrivedGPUDemand)
	}
	if prev := w.Events[len(w.Events)-2]; prev.ArrivedGPUDemand >= 1.3 {
		t.Errorf("arrivals go on past the target: %v before the last", prev.ArrivedGPUDemand)
	}
	if cpuOnly == 0 {
		t.Error("no CPU-only pod arrived")
	}
	// 1.3 x 313 GPUs is about 407 GPUs, less than one pass over the
	// excerpt's 619 GPUs of demand: no pod arrives twice.
	seen := map[string]bool{}
	for _, e := range w.Events {
		if seen[e.Pod.Name] {
			t.Fatalf("pod %s arrived twice within the first pass", e.Pod.Name)
		}
		seen[e.Pod.Name] = true
	}
}

// TestDemandModeCycles checks that a target beyond one pass reshuffles
// the pod list for every pass and keeps IDs unique.
func TestDemandModeCycles(t *testing.T) {
	nodes := []Node{{Name: "n", CPUMilli: 8000, MemoryMiB: 1024, GPUs: 4, Model: "T4"}}
	var pods []Pod
	for i := range 10 {
		pods = append(pods, Pod{Name: "p" + strconv.Itoa(i), NumGPU: 1, GPUMilli: 500, Line: i + 2})
	}
	pods = append(pods, Pod{Name: "cpu", CPUMilli: 1000, Line: 12})
	// Each pass brings 5 GPUs of demand; 3.0 x 4 GPUs = 12 GPUs takes
	// two full passes and 4 arrivals of the third (24 halves).
	w := mustWorkload(t, nodes, pods, Options{Seed: 3, TargetDemand: 3})
	ids := map[string]bool{}
	for _, e := range w.Events {
		if ids[e.ID] {
			t.Fatalf("ID %s used twice", e.ID)
		}
		ids[e.ID] = true
	}
	gpuArrivals := 0
	for _, e := range w.Events {
		if e.Pod.NumGPU > 0 {
			gpuArrivals++
		}
	}
	if gpuArrivals != 24 {
		t.Errorf("%d GPU arrivals, want 24", gpuArrivals)
	}
	var passes [][]string
	for i := 0; i+len(pods) <= len(w.Events); i += len(pods) {
		var names []string
		seen := map[string]bool{}
		for _, e := range w.Events[i : i+len(pods)] {
			if seen[e.Pod.Name] {
				t.Fatalf("pass at %d brings %s twice", i, e.Pod.Name)
			}
			seen[e.Pod.Name] = true
			names = append(names, e.Pod.Name)
		}
		passes = append(passes, names)
	}
	if len(passes) != 2 {
		t.Fatalf("%d full passes, want 2", len(passes))
	}
	if reflect.DeepEqual(passes[0], passes[1]) {
		t.Error("both passes have the same order: no fresh shuffle")
	}
}

func TestDeparturesMode(t *testing.T) {
	pods := []Pod{
		{Name: "a", NumGPU: 1, GPUMilli: 1000, CreationTime: 0, DeletionTime: 10, HasTimes: true, Line: 2},
		{Name: "b", NumGPU: 1, GPUMilli: 500, CreationTime: 10, DeletionTime: 20, HasTimes: true, Line: 3},
		{Name: "c", CreationTime: 5, DeletionTime: 5, HasTimes: true, Line: 4},
		{Name: "d", NumGPU: 2, GPUMilli: 1000, CreationTime: 10, DeletionTime: 10, HasTimes: true, Line: 5},
		{Name: "e", NumGPU: 1, GPUMilli: 250, CreationTime: 0, DeletionTime: 30, HasTimes: true, Line: 1},
	}
	nodes := []Node{{Name: "n", CPUMilli: 8000, MemoryMiB: 1024, GPUs: 4, Model: "A10"}}
	w := mustWorkload(t, nodes, pods, Options{Seed: 1, Mode: DeparturesMode})
	type ev struct {
		kind EventKind
		pod  string
		id   string
		time int64
		dem  float64
	}
	var got []ev
	for _, e := range w.Events {
		got = append(got, ev{e.Kind, e.Pod.Name, e.ID, e.Time, e.ArrivedGPUDemand})
	}
	want := []ev{
		{Arrival, "e", "p-000000", 0, 0.0625},
		{Arrival, "a", "p-000001", 0, 0.3125},
		{Arrival, "c", "p-000002", 5, 0.3125},
		{Departure, "c", "p-000002", 5, 0.3125},
		{Departure, "a", "p-000001", 10, 0.3125},
		{Arrival, "b", "p-000003", 10, 0.4375},
		{Arrival, "d", "p-000004", 10, 0.9375},
		{Departure, "d", "p-000004", 10, 0.9375},
		{Departure, "b", "p-000003", 20, 0.9375},
		{Departure, "e", "p-000000", 30, 0.9375},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events =\n%v\nwant\n%v", got, want)
	}
	tenants := map[string]string{}
	for _, e := range w.Events {
		if e.Kind == Arrival {
			tenants[e.ID] = e.Tenant
		} else if tenants[e.ID] != e.Tenant {
			t.Errorf("%s departs as tenant %q, arrived as %q", e.ID, e.Tenant, tenants[e.ID])
		}
	}
}

func TestDeparturesModeOnTheExcerpt(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{Seed: 5, Mode: DeparturesMode})
	if len(w.Events) != 2*len(pods) {
		t.Fatalf("%d events for %d pods", len(w.Events), len(pods))
	}
	arrived := map[string]bool{}
	departed := map[string]bool{}
	for i, e := range w.Events {
		if i > 0 {
			prev := w.Events[i-1]
			if e.Time < prev.Time {
				t.Fatalf("event %d goes back in time", i)
			}
			if e.Time == prev.Time && e.Kind == Departure && prev.Kind == Arrival && prev.ID != e.ID {
				t.Fatalf("event %d: a departure after an arrival at the same time", i)
			}
		}
		if e.Kind == Arrival {
			if arrived[e.ID] {
				t.Fatalf("%s arrives twice", e.ID)
			}
			arrived[e.ID] = true
			if e.Time != e.Pod.CreationTime {
				t.Fatalf("%s arrives at %d, created at %d", e.ID, e.Time, e.Pod.CreationTime)
			}
		} else {
			if !arrived[e.ID] || departed[e.ID] {
				t.Fatalf("%s departs before arriving or twice", e.ID)
			}
			departed[e.ID] = true
			if e.Time != e.Pod.DeletionTime {
				t.Fatalf("%s departs at %d, deleted at %d", e.ID, e.Time, e.Pod.DeletionTime)
			}
		}
	}
}

func TestDeparturesModeNeedsTimes(t *testing.T) {
	nodes, _ := excerpt(t)
	pods, _, err := readPodsString(shortPodHeader+"a,1000,1,1,1000\n", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BuildWorkload(nodes, pods, Options{Mode: DeparturesMode}); err == nil || !strings.Contains(err.Error(), `pod "a" (line 2) has none`) {
		t.Errorf("BuildWorkload(no times) = %v", err)
	}
	if _, err := BuildWorkload(nodes, pods, Options{}); err != nil {
		t.Errorf("demand mode without times: %v", err)
	}
}

func TestSampling(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{Seed: 11, SampleNodes: 20})
	if len(w.Nodes) != 20 {
		t.Fatalf("%d nodes, want 20", len(w.Nodes))
	}
	counts := map[string]int{}
	gpus := 0
	lastLine := 0
	for _, n := range w.Nodes {
		counts[n.Trace.Model]++
		gpus += n.Trace.GPUs
		if n.Trace.Line <= lastLine {
			t.Errorf("sampled nodes are not in trace order")
		}
		lastLine = n.Trace.Line
	}
	// 20 of 67: every stratum keeps one; the rest go to the strata
	// furthest below their proportional share (G2 27 -> 8.06, T4 20 ->
	// 5.97, P100 7 -> 2.09, CPU-only 4 -> 1.19, the others below 1).
	want := map[string]int{"A10": 1, "G2": 8, "G3": 1, "P100": 2, "T4": 5, "V100M16": 1, "V100M32": 1, "": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("strata %v, want %v", counts, want)
	}
	if w.ClusterGPUs != gpus {
		t.Errorf("ClusterGPUs %d, the sampled nodes have %d", w.ClusterGPUs, gpus)
	}
	last := w.Events[len(w.Events)-1]
	if last.ArrivedGPUDemand < DefaultTargetDemand {
		t.Errorf("demand %v is not relative to the sampled cluster", last.ArrivedGPUDemand)
	}
	other := mustWorkload(t, nodes, pods, Options{Seed: 12, SampleNodes: 20})
	if reflect.DeepEqual(nodeNamesOf(w), nodeNamesOf(other)) {
		t.Error("seeds 11 and 12 sample the same nodes")
	}

	g := mustWorkload(t, nodes, pods, Options{Seed: 11, SampleNodes: 7, GPUNodesOnly: true})
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Trace.GPUs == 0 {
			t.Error("GPUNodesOnly kept a CPU-only node")
		}
		seen[n.Trace.Model] = true
	}
	if len(seen) != 7 {
		t.Errorf("7 nodes over 7 models kept %v", seen)
	}
	if _, err := BuildWorkload(nodes, pods, Options{SampleNodes: 6, GPUNodesOnly: true}); err == nil || !strings.Contains(err.Error(), "7 GPU models") {
		t.Errorf("sampling 6 nodes of 7 models: %v", err)
	}
	all := mustWorkload(t, nodes, pods, Options{SampleNodes: 1000})
	if len(all.Nodes) != len(nodes) {
		t.Errorf("sampling more nodes than there are kept %d of %d", len(all.Nodes), len(nodes))
	}
}

func nodeNamesOf(w *Workload) []string {
	var out []string
	for _, n := range w.Nodes {
		out = append(out, n.Trace.Name)
	}
	return out
}

func TestClusterNodes(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{GPUNodesOnly: true})
	for _, n := range w.Nodes {
		if err := n.Machine.Validate(); err != nil {
			t.Errorf("%s: %v", n.Trace.Name, err)
		}
		if n.Labels[LabelTraceModel] != n.Trace.Model {
			t.Errorf("%s: label %q, model %q", n.Trace.Name, n.Labels[LabelTraceModel], n.Trace.Model)
		}
		if len(n.Machine.GPUs) != n.Trace.GPUs {
			t.Errorf("%s: %d GPUs in the machine, %d in the trace", n.Trace.Name, len(n.Machine.GPUs), n.Trace.GPUs)
		}
	}
	_, notes, err := BuildCluster([]Node{{Name: "odd", CPUMilli: 82000, MemoryMiB: 1}, {Name: "even", CPUMilli: 64000, MemoryMiB: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(notes, "\n"); !strings.Contains(joined, "1 of 2 nodes have more logical CPUs in their machine than cpu_milli/1000") {
		t.Errorf("notes lack the CPU rounding:\n%s", joined)
	}
	if _, _, err := BuildCluster([]Node{nodes[0], nodes[0]}); err == nil || !strings.Contains(err.Error(), "duplicates") {
		t.Errorf("BuildCluster(duplicate) = %v", err)
	}
}

func TestTenants(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{Seed: 2, TargetDemand: 5})
	if len(w.Tenants) != 4 {
		t.Fatalf("%d tenants", len(w.Tenants))
	}
	var quotaMilli int64
	for _, tn := range w.Tenants {
		q, err := quota.Parse(tn.Quota)
		if err != nil {
			t.Fatalf("tenant %s: %v", tn.Name, err)
		}
		if tn.Namespace == "" || !q.Limited() {
			t.Errorf("tenant %+v has no namespace or no quota", tn)
		}
		quotaMilli += q.Limits[quota.GPUMilli]
	}
	if share := float64(quotaMilli) / 1000 / float64(w.ClusterGPUs); share <= 1 || share > 1.25 {
		t.Errorf("quotas add up to %.2f of the cluster, want above 1 (and the default 1.2)", share)
	}
	counts := map[string]int{}
	for _, e := range w.Events {
		counts[e.Tenant]++
	}
	total := float64(len(w.Events))
	for _, spec := range DefaultTenants() {
		if got := float64(counts[spec.Name]) / total; math.Abs(got-spec.Weight) > 0.05 {
			t.Errorf("tenant %s has %.3f of %d arrivals, want about %.1f", spec.Name, got, len(w.Events), spec.Weight)
		}
	}
	custom := mustWorkload(t, nodes, pods, Options{Tenants: []TenantSpec{{Name: "solo", Weight: 1, GPUShare: 0.5}}})
	for _, e := range custom.Events {
		if e.Tenant != "solo" {
			t.Fatalf("event for tenant %q", e.Tenant)
		}
	}
	if got := custom.Tenants[0].Quota[quota.GPUMilli.Label()]; got != strconv.Itoa(313*500) {
		t.Errorf("solo quota %s, want %d", got, 313*500)
	}
}

func TestBuildWorkloadRejects(t *testing.T) {
	nodes, pods := excerpt(t)
	cpuNodes := []Node{{Name: "c", CPUMilli: 1000, MemoryMiB: 1}}
	cpuPods := []Pod{{Name: "c", CPUMilli: 1}}
	tests := []struct {
		name  string
		nodes []Node
		pods  []Pod
		opts  Options
		want  string
	}{
		{"unknown mode", nodes, pods, Options{Mode: "replay"}, `mode "replay" is not`},
		{"negative target", nodes, pods, Options{TargetDemand: -1}, "target demand -1 is out of range"},
		{"NaN target", nodes, pods, Options{TargetDemand: math.NaN()}, "target demand NaN is out of range"},
		{"huge target", nodes, pods, Options{TargetDemand: 101}, "target demand 101 is out of range"},
		{"negative sample", nodes, pods, Options{SampleNodes: -1}, "sample size -1 is negative"},
		{"no pods", nodes, nil, Options{}, "the pod list is empty"},
		{"no nodes", nil, pods, Options{}, "no nodes"},
		{"CPU-only cluster in demand mode", cpuNodes, pods, Options{}, "needs GPUs"},
		{"no GPU pods in demand mode", nodes, cpuPods, Options{}, "needs GPU pods"},
		{"invalid pod", nodes, []Pod{{Name: "x", NumGPU: 2, GPUMilli: 10}}, Options{}, `pod "x" (line 0): column gpu_milli`},
		{"invalid node", []Node{{Name: "x", CPUMilli: 1000, MemoryMiB: 1, GPUs: 1}}, pods, Options{}, `node "x" (line 0): column model`},
		{"tenant name", nodes, pods, Options{Tenants: []TenantSpec{{Name: "A", Weight: 1}}}, `name "A" is not a DNS label`},
		{"tenant twice", nodes, pods, Options{Tenants: []TenantSpec{{Name: "a", Weight: 1}, {Name: "a", Weight: 1}}}, `"a" is given twice`},
		{"tenant weight", nodes, pods, Options{Tenants: []TenantSpec{{Name: "a", Weight: 0}}}, "weight 0 is out of range"},
		{"tenant weight infinite", nodes, pods, Options{Tenants: []TenantSpec{{Name: "a", Weight: math.Inf(1)}}}, "weight +Inf is out of range"},
		{"tenant share", nodes, pods, Options{Tenants: []TenantSpec{{Name: "a", Weight: 1, GPUShare: -0.1}}}, "GPU share -0.1 is out of range"},
		{"no tenants", nodes, pods, Options{Tenants: []TenantSpec{}}, "tenants: none given"},
		{"too many events", nodes, []Pod{{Name: "tiny", NumGPU: 1, GPUMilli: 1}, {Name: "cpu"}}, Options{TargetDemand: 100}, "more than 10000000 events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := BuildWorkload(tc.nodes, tc.pods, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BuildWorkload() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	nodes, pods := excerpt(t)
	w := mustWorkload(t, nodes, pods, Options{Seed: 4, SampleNodes: 30})
	joined := strings.Join(w.Notes, "\n")
	for _, want := range []string{"G2 (anonymised in the trace) is simulated as an A10", "G3 as an A100", "T4 10/70 W", "2 sockets from 64 logical CPUs", "one PCIe root complex per pair", "RDMA", "sampled 30 of 67 nodes", "tenants", "quota.hadron.dev/gpu-milli", "summing to 120%", "demand mode (seed 4)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	for _, n := range w.Notes {
		if n == "" || strings.Contains(n, "\n") {
			t.Errorf("note %q is not one line", n)
		}
	}
}
