package schedperf

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	nan := math.NaN()
	avg := func(m Measurement) float64 { return m.Average }
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, nan},
		{[]float64{nan}, nan},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, nan, 2}, 3},
	} {
		var runs []Measurement
		for _, v := range tc.in {
			runs = append(runs, Measurement{Average: v})
		}
		got := median(runs, avg)
		if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// dataItemsJSON is a shortened scheduler_perf result file of one run:
// the throughput, attempt durations of scheduled and unschedulable
// attempts, and an item of another benchmark.
const dataItemsJSON = `{
  "version": "v1",
  "dataItems": [
    {"data": {"Average": 12.5, "Perc50": 11, "Perc90": 20}, "unit": "pods/s",
     "labels": {"Metric": "SchedulingThroughput", "Name": "BenchmarkSchedulingDRA/hadron/dra/TC/w/test"}},
    {"data": {"Average": 80.5, "Perc50": 70}, "unit": "ms",
     "labels": {"Metric": "scheduler_scheduling_attempt_duration_seconds", "Name": "BenchmarkSchedulingDRA/hadron/dra/TC/w/test", "result": "scheduled"}},
    {"data": {"Average": 999, "Perc50": 999}, "unit": "ms",
     "labels": {"Metric": "scheduler_scheduling_attempt_duration_seconds", "Name": "BenchmarkSchedulingDRA/hadron/dra/TC/w/test", "result": "unschedulable"}},
    {"data": {"Average": 1, "Perc50": 1}, "unit": "pods/s",
     "labels": {"Metric": "SchedulingThroughput", "Name": "BenchmarkSchedulingDRA/hadron/dra/TC/w2/test"}}
  ]
}`

func TestReadMeasurement(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "BenchmarkSchedulingDRA_hadron_dra_benchmark_hadron.json"), []byte(dataItemsJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := readMeasurement(dir, "BenchmarkSchedulingDRA/hadron/dra/TC/w/")
	if err != nil {
		t.Fatal(err)
	}
	if m.Average != 12.5 || m.Perc50 != 11 || m.AttemptAverage != 80.5 || m.AttemptPerc50 != 70 {
		t.Errorf("got %+v", m)
	}
	m, err = readMeasurement(dir, "BenchmarkSchedulingDRA/hadron/dra/TC/none/")
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(m.Average) || !math.IsNaN(m.AttemptAverage) {
		t.Errorf("a workload without items: got %+v, want NaNs", m)
	}
	if _, err := readMeasurement(t.TempDir(), "x/"); err == nil {
		t.Error("an empty result directory: want an error")
	}
}

func TestCheckRan(t *testing.T) {
	log := filepath.Join(t.TempDir(), "output.log")
	content := "goos: linux\nBenchmarkSchedulingDRA/default/dra/TC/w-2         \t       1\t  12.5 SchedulingThroughput/Average\nPASS\n"
	if err := os.WriteFile(log, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkRan(log, "BenchmarkSchedulingDRA/default/dra/TC/w"); err != nil {
		t.Error(err)
	}
	if err := checkRan(log, "BenchmarkSchedulingDRA/hadron/dra/TC/w"); err == nil {
		t.Error("a benchmark without a result line: want an error")
	}
}

// TestBenchArgs checks that the -test.bench pattern selects exactly one
// workload of one variant, as Go matches it: one expression per level of
// the slash-separated name.
func TestBenchArgs(t *testing.T) {
	w := SourceWorkload{Source: "dra", Workload: Workload{TestCase: "SchedulingWithResourceClaimTemplate", Name: "fast"}}
	args := BenchArgs(LabelSmoke, Variants[1], w, "out")
	var pattern string
	for i := range args {
		if args[i] == "-test.bench" {
			pattern = args[i+1]
		}
	}
	levels := strings.Split(pattern, "/")
	matches := func(name string) bool {
		parts := strings.Split(name, "/")
		for i, re := range levels {
			if i >= len(parts) {
				return true
			}
			if !regexp.MustCompile(re).MatchString(parts[i]) {
				return false
			}
		}
		return true
	}
	for name, want := range map[string]bool{
		"BenchmarkSchedulingDRA/hadron/dra/SchedulingWithResourceClaimTemplate/fast":          true,
		"BenchmarkSchedulingDRA/default/dra/SchedulingWithResourceClaimTemplate/fast":         false,
		"BenchmarkSchedulingDRA/hadron/dra/SchedulingWithResourceClaimTemplate/selector_fast": false,
		"BenchmarkSchedulingDRA/hadron/dra/SchedulingWithResourceClaim/fast":                  false,
	} {
		if got := matches(name); got != want {
			t.Errorf("pattern %q matches %s: %v, want %v", pattern, name, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	nan := math.NaN()
	r := &Result{
		Label: LabelPerformance, Count: 1, Kubernetes: "v1.37.2", TempFS: "tmpfs",
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Elapsed: 90 * time.Second, Uncommitted: true,
		Workloads: []WorkloadResult{
			{
				SourceWorkload: SourceWorkload{Source: "dra", Workload: Workload{TestCase: "TC", Name: "w"}},
				Runs: map[string][]Measurement{
					"default": {{Average: 20, Perc50: 18, AttemptAverage: 10, AttemptPerc50: 8}},
					"hadron":  {{Average: 15, Perc50: 18, AttemptAverage: 12, AttemptPerc50: 8}},
				},
				Load: []float64{1.5, 2.25},
			},
			{
				SourceWorkload: SourceWorkload{Source: "dra", Workload: Workload{TestCase: "TC", Name: "short"}},
				Runs: map[string][]Measurement{
					"default": {{Average: nan, Perc50: nan, AttemptAverage: 3, AttemptPerc50: 3}},
					"hadron":  {{Average: nan, Perc50: nan, AttemptAverage: 3, AttemptPerc50: 3}},
				},
				Load: []float64{-1, -1},
			},
		},
	}
	var b strings.Builder
	r.Report(&b, "hadron bench scheduler-perf", "abc1234")
	out := b.String()
	for _, want := range []string{
		"Commit: `abc1234` plus uncommitted changes",
		"| dra | TC/w | 20.0 | 18.0 | 15.0 | 18.0 | 0.75 | 1.00 | 1.5, 2.2 |",
		"| dra | TC/w | 10.0 | 8.0 | 12.0 | 8.0 | 1.20 | 1.00 | 1.5, 2.2 |",
		"| dra | TC/short | – | – | – | – | – | – | – |",
		"HadronDynamicResources",
		"upstream's choice per source: `incubating` for dra, `experimental` for partitionabledevices",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
