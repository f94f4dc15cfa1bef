// Package schedperf compares hadron's scheduler profile with the upstream
// default profile on kube-scheduler's own DRA benchmarks
// (k8s.io/kubernetes/test/integration/scheduler_perf): the same
// workloads, the same allocator and the same out-of-tree plugin registry,
// only the profile differs.
//
// BenchmarkSchedulingDRA (in this package's tests) runs them; Run builds
// that benchmark, runs it workload by workload for both profiles and
// returns the throughput that scheduler_perf measured, which Report
// writes as a table.
package schedperf

// Labels of the generated workloads, for -perf-scheduling-label-filter.
// Upstream's own labels are replaced: they mark what upstream's CI runs,
// and its "performance" set (5000 nodes and more) takes too long on a
// small machine.
const (
	// LabelSmoke marks workloads of a few pods that run every code path
	// in seconds. They end before scheduler_perf's first one-second
	// throughput sample, so they check that both profiles work, not how
	// fast.
	LabelSmoke = "smoke"
	// LabelPerformance marks the workloads of the report. It is
	// scheduler_perf's default filter, so a plain -bench run measures them.
	LabelPerformance = "performance"
)

// Variant is one scheduler profile under test.
type Variant struct {
	// Name is the sub-benchmark's name and scheduler_perf's topic.
	Name string
	// Hadron selects hadron's profile; otherwise scheduler_perf runs
	// without a scheduler configuration, which is upstream's default
	// profile.
	Hadron bool
}

// Variants are compared in this order: the baseline first.
var Variants = []Variant{{Name: "default"}, {Name: "hadron", Hadron: true}}

// Source is one upstream scheduler_perf configuration file and the
// workloads taken from it.
type Source struct {
	// Name is the sub-benchmark's name: the file's directory.
	Name string
	// Config is the file, relative to scheduler_perf's directory.
	Config string
	// Allocator is the structured allocator implementation that
	// upstream's benchmark of this file enables.
	Allocator string
	// Workloads are the test cases' workloads to run, with their label.
	Workloads []Workload
}

// Workload names one workload of a test case.
type Workload struct {
	TestCase, Name, Label string
}

// Sources are the workloads the benchmark runs. The performance set is
// sized for a two-core machine: every workload schedules a thousand pods
// or keeps the cluster at a fill level for ten seconds, so that
// scheduler_perf takes enough one-second samples, and one run of each
// with both profiles takes five to ten minutes. Upstream's larger
// workloads (5000 pods on 500 nodes, SchedulingWithResourceClaim with
// 2000 pods) take several minutes per profile there.
var Sources = []Source{
	{
		Name:      "dra",
		Config:    "dra/performance-config.yaml",
		Allocator: "incubating",
		Workloads: []Workload{
			{"SchedulingWithResourceClaimTemplate", "fast", LabelSmoke},
			{"SchedulingWithResourceClaimTemplate", "selector_fast", LabelSmoke},
			{"SchedulingWithResourceClaimTemplate", "match_fast", LabelSmoke},
			{"SchedulingWithResourceClaim", "fast", LabelSmoke},
			{"SchedulingWithResourceClaimTemplate", "2000pods_200nodes", LabelPerformance},
			{"SchedulingWithResourceClaimTemplate", "half_100nodes", LabelPerformance},
			// matchAttribute constraints are what DeviceAlignment
			// checks.
			{"SchedulingWithResourceClaimTemplate", "match_empty_500nodes", LabelPerformance},
		},
	},
	{
		// Partitionable devices are how MIG slices are published.
		Name:      "partitionabledevices",
		Config:    "dra/partitionabledevices/performance-config.yaml",
		Allocator: "experimental",
		Workloads: []Workload{
			{"Partitionable", "fast", LabelSmoke},
			{"Partitionable", "half_100nodes", LabelPerformance},
		},
	},
}

// Selected returns the workloads carrying label, in the order they run,
// with their source.
func Selected(label string) []SourceWorkload {
	var out []SourceWorkload
	for _, src := range Sources {
		for _, w := range src.Workloads {
			if w.Label == label {
				out = append(out, SourceWorkload{Source: src.Name, Workload: w})
			}
		}
	}
	return out
}

// SourceWorkload is a workload with the name of its source.
type SourceWorkload struct {
	Source string
	Workload
}

// ID is the workload's path below the variant in benchmark names.
func (w SourceWorkload) ID() string {
	return w.Source + "/" + w.TestCase + "/" + w.Name
}
