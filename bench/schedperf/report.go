package schedperf

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
)

// Report writes the result as Markdown: how it was run, on what, and per
// workload the throughput of both profiles and their ratio. command is
// the command line that produced it, commit the source's revision.
func (r *Result) Report(w io.Writer, command, commit string) {
	fmt.Fprintf(w, "# Scheduler throughput: hadron profile vs default profile\n\n")
	fmt.Fprintf(w, "Command: `%s`  \nCommit: `%s`", command, commit)
	if r.Uncommitted {
		fmt.Fprint(w, " plus uncommitted changes in the working tree")
	}
	fmt.Fprint(w, "  \n")
	fmt.Fprintf(w, "Machine: %d CPUs, %s, %s/%s, %s; temporary directory (etcd's data) on %s  \n",
		runtime.NumCPU(), CPUModel(), runtime.GOOS, runtime.GOARCH, r.Started.UTC().Format("2006-01-02"), r.TempFS)
	fmt.Fprintf(w, "Benchmark: kube-scheduler's `scheduler_perf` from k8s.io/kubernetes %s, workloads labelled `%s`, %d run(s) per workload and profile; %s in all\n\n",
		r.Kubernetes, r.Label, r.Count, r.Elapsed.Round(time.Second))

	fmt.Fprintln(w, "Each run is one workload with one profile, in a fresh etcd, API server and scheduler:")
	fmt.Fprintln(w, "\n```sh")
	fmt.Fprintln(w, "go test -c -o schedperf.test ./bench/schedperf")
	fmt.Fprintln(w, "cd bench/schedperf")
	fmt.Fprintf(w, "PATH=$PWD/../../_output/bin:$PATH ../../schedperf.test %s\n",
		shellJoin(BenchArgs(r.Label, Variant{Name: "<profile>"}, SourceWorkload{Source: "<source>", Workload: Workload{TestCase: "<test case>", Name: "<workload>"}}, "<results dir>")))
	fmt.Fprintln(w, "```")

	fmt.Fprintln(w, "\n## Pods per second")
	fmt.Fprintln(w, "\nscheduler_perf's SchedulingThroughput: the pods scheduled in each one-second sample while the workload's measured pods are scheduled; avg is the mean of the samples, p50 their median. Higher is better.")
	r.table(w, "", func(m Measurement) float64 { return m.Average }, func(m Measurement) float64 { return m.Perc50 })

	fmt.Fprintln(w, "\n## Milliseconds per scheduling attempt")
	fmt.Fprintln(w, "\nscheduler_perf's scheduler_scheduling_attempt_duration_seconds of the attempts that scheduled a pod, over the same part of each workload: the latency of an attempt from the scheduling cycle to the end of binding, which writes the claims' allocations. Binding runs beside the next pods' cycles, so this is not the inverse of the throughput; waits for a CPU on a busy machine are included. Lower is better.")
	r.table(w, " ms", func(m Measurement) float64 { return m.AttemptAverage }, func(m Measurement) float64 { return m.AttemptPerc50 })

	fmt.Fprintln(w, "\n## What is compared")
	fmt.Fprintf(w, "\n- **default**: no scheduler configuration, that is upstream's default profile with its DynamicResources plugin.\n")
	fmt.Fprintf(w, "- **hadron**: the `%s` profile of deploy/scheduler/config.yaml as the only profile, renamed default-scheduler: scheduler_perf's pods name no scheduler, and it counts only that profile's attempts. %s\n",
		HadronProfile, hadronPlugins())
	var allocators []string
	for _, src := range Sources {
		allocators = append(allocators, fmt.Sprintf("`%s` for %s", src.Allocator, src.Name))
	}
	fmt.Fprintf(w, "- Both run with hadron's plugin registry, the same allocator (upstream's choice per source: %s) and hadron's Tenant CRD installed; scheduler_perf's namespaces name no tenant, so TenantQuota looks up each pod's namespace and lets it pass.\n", strings.Join(allocators, ", "))
	fmt.Fprintln(w, "- The workloads are upstream's, unchanged except that upstream's CI thresholds are dropped. Their devices are a test driver's, not hadron's: HadronDynamicResources passes their ResourceSlices through in upstream's order and hadron's scorers find no hadron devices to score. The ratio is therefore the cost of the hadron profile where its preferences do not apply, not the cost of ordering hadron's GPUs, CPUs and NICs.")
	fmt.Fprintln(w, "- Each workload runs with both profiles back to back (the order alternates between repetitions), so that changes of load on the machine hit both alike; the load column is the machine's one-minute load average before each run. On a shared machine single runs are noisy: compare ratios measured in one report.")
	fmt.Fprintln(w, "- Upstream's larger workloads (5000 pods on 500 nodes and up, SchedulingWithResourceClaim with 2000 pods) take several minutes per profile on a small machine and are left out; `bench/schedperf/workloads.go` lists what runs.")
}

// table writes one row per workload: avg and p50 of both variants (the
// medians over the runs) and hadron's over default's.
func (r *Result) table(w io.Writer, unit string, avg, p50 func(Measurement) float64) {
	if r.Count > 1 {
		fmt.Fprintf(w, "Each value is the median of %d runs.\n", r.Count)
	}
	fmt.Fprintf(w, "\n| source | workload | default avg%[1]s | default p50%[1]s | hadron avg%[1]s | hadron p50%[1]s | hadron/default avg | hadron/default p50 | load (1 min) |\n", unit)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, wr := range r.Workloads {
		def, had := wr.Runs["default"], wr.Runs["hadron"]
		da, dp, ha, hp := median(def, avg), median(def, p50), median(had, avg), median(had, p50)
		fmt.Fprintf(w, "| %s | %s/%s | %s | %s | %s | %s | %s | %s | %s |\n", wr.Source, wr.TestCase, wr.Name,
			number(da, 1), number(dp, 1), number(ha, 1), number(hp, 1), number(ha/da, 2), number(hp/dp, 2), loads(wr.Load))
	}
}

// median returns the median of f over runs, leaving out NaNs (not
// measured); NaN if none is left.
func median(runs []Measurement, f func(Measurement) float64) float64 {
	var v []float64
	for _, m := range runs {
		if x := f(m); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// number formats v with prec decimals, and a dash for a value that was
// not measured.
func number(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func loads(l []float64) string {
	var s []string
	for _, v := range l {
		if v < 0 {
			return "–"
		}
		s = append(s, fmt.Sprintf("%.1f", v))
	}
	return strings.Join(s, ", ")
}

// hadronPlugins describes the plugins the hadron profile enables and
// disables, read from the shipped configuration.
func hadronPlugins() string {
	var cfg struct {
		Profiles []struct {
			SchedulerName string
			Plugins       map[string]struct {
				Enabled, Disabled []struct{ Name string }
			}
		}
	}
	if err := yaml.Unmarshal(deploy.SchedulerConfig, &cfg); err != nil {
		return ""
	}
	var enabled, disabled []string
	for _, p := range cfg.Profiles {
		if p.SchedulerName != HadronProfile {
			continue
		}
		for _, set := range p.Plugins {
			for _, e := range set.Enabled {
				enabled = append(enabled, e.Name)
			}
			for _, d := range set.Disabled {
				disabled = append(disabled, d.Name)
			}
		}
	}
	slices.Sort(enabled)
	slices.Sort(disabled)
	enabled, disabled = slices.Compact(enabled), slices.Compact(disabled)
	// A plugin disabled in one extension point and enabled again (to
	// reorder it) stays enabled.
	disabled = slices.DeleteFunc(disabled, func(n string) bool { return slices.Contains(enabled, n) })
	desc := "It enables " + strings.Join(enabled, ", ")
	if len(disabled) > 0 {
		desc += " and disables " + strings.Join(disabled, ", ")
	}
	return desc + "."
}

// shellJoin quotes the arguments that a shell would expand.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$*?[]<> '\"\\|&;()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
