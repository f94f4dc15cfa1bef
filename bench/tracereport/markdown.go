package tracereport

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadron-sched/hadron/bench/replay"
)

// Policy names the report refers to by name: the baseline of the power
// comparison, the policy under test and the default profile.
const (
	policyFGD     = "fgd"
	policyHadron  = "hadron"
	policyDefault = "default"
	policyPower   = "power"
)

// dash stands for a value that was not measured or not reached.
const dash = "—"

// Markdown writes the report; plots are the names of the figures written
// beside it (a figure not listed is not linked).
func Markdown(w io.Writer, in Input, plots []string) {
	res := in.Result
	sums := summarize(res)
	fmt.Fprintf(w, "# Trace replay: hadron and other scheduling policies on a GPU-cluster trace\n\n")
	fmt.Fprintf(w, "Command: `%s`  \n", res.Command)
	fmt.Fprintf(w, "Commit: `%s`  \n", res.Commit)
	fmt.Fprintf(w, "Machine: %s  \n", res.Machine)
	fmt.Fprintf(w, "Seed: %d  \n", res.Seed)
	fmt.Fprintf(w, "Mode: %s  \n", res.Mode)
	fmt.Fprintf(w, "Trace files: %s  \n", codeList(res.TraceFiles))
	fmt.Fprintf(w, "Cluster: %d nodes, %d GPUs  \n", res.Nodes, res.ClusterGPUs)
	if !res.Started.IsZero() && !res.Finished.IsZero() {
		fmt.Fprintf(w, "Run: %s to %s (%s)  \n", res.Started.UTC().Format(time.RFC3339), res.Finished.UTC().Format(time.RFC3339),
			res.Finished.Sub(res.Started).Round(time.Second))
	}
	fmt.Fprintf(w, "Policies: %s\n", codeList(policyNames(sums)))
	if len(res.Resumed) > 0 {
		fmt.Fprintf(w, "\nResumed: the results of %s were measured by an earlier, interrupted run of the same workload, "+
			"configuration and commit, and reused; their timings come from that run.\n", codeList(res.Resumed))
	}
	writePolicies(w, in.Policies)

	if over := overshooting(sums); len(over) > 0 {
		fmt.Fprintf(w, "\n> **WARNING: QUOTA OVERSHOOT.** %s let a tenant's allocated usage exceed its quota. "+
			"Quotas must hold at every moment; these results are not valid until this is fixed.\n", strings.Join(over, ", "))
	}

	writeAllocation(w, res.ClusterGPUs, sums, plots)
	writePower(w, sums, plots)
	writeFragmentation(w, sums, plots)
	writePlacement(w, sums)
	writeSpeed(w, res, sums, plots)
	writePublished(w)
	fmt.Fprintln(w, "\n## Reading")
	fmt.Fprintln(w, "\nGenerated from the numbers above.")
	fmt.Fprintln(w)
	for _, line := range reading(res, sums) {
		fmt.Fprintf(w, "- %s\n", line)
	}
	writeNotes(w, res.Notes, in.Malformed)
}

func writePolicies(w io.Writer, policies []replay.Policy) {
	if len(policies) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, p := range policies {
		fmt.Fprintf(w, "- **%s**: %s\n", p.Name, p.Description)
	}
}

func writeAllocation(w io.Writer, gpus int, sums []summary, plots []string) {
	fmt.Fprintln(w, "\n## GPU allocation")
	fmt.Fprintf(w, "\nGPUs allocated (shares count by their milli value) as a share of the cluster's %d GPUs, when the cumulative arrived GPU demand reaches each level; "+
		"interpolated between arrivals, %s where the replay did not reach the level. "+
		"Fragmented: free GPU capacity that the workload's pods cannot use (FGD's measure), as a share of the unallocated GPUs.\n\n", gpus, dash)
	fmt.Fprintf(w, "| policy |%s unallocated GPUs at 100%% | fragmented at 100%% |\n", levelHeader())
	fmt.Fprintf(w, "|---|%s---:|---:|\n", strings.Repeat("---:|", len(DemandLevels)))
	full := levelIndex(1.0)
	for _, s := range sums {
		fmt.Fprintf(w, "| %s |", s.Name)
		for _, a := range s.Allocation {
			fmt.Fprintf(w, " %s |", percent(a))
		}
		fmt.Fprintf(w, " %s | %s |\n", number(s.Unallocated, 1), fragmented(s.Fragmented[full], s.FragmentationRatio))
	}
	image(w, plots, AllocationPlot, "GPU allocation against arrived demand")
}

func fragmented(gpus, share float64) string {
	if math.IsNaN(gpus) {
		return dash
	}
	return fmt.Sprintf("%s GPUs (%s)", number(gpus, 1), percent(share))
}

func writePower(w io.Writer, sums []summary, plots []string) {
	fmt.Fprintln(w, "\n## Modelled power")
	fgd := find(sums, policyFGD)
	fmt.Fprint(w, "\nModelled cluster power in kW (GPUs idle or busy by the binary model, plus CPU packages) at each arrived demand")
	if fgd != nil {
		fmt.Fprint(w, "; in brackets, the difference to the fgd policy at the same demand (negative: less power)")
	}
	fmt.Fprintln(w, ".")
	writeLevelTable(w, sums, func(s summary) []float64 { return s.Power }, func(s summary, i int, p float64) string {
		cell := kilowatts(p)
		if fgd != nil && s.Name != policyFGD && !math.IsNaN(p) {
			if d := ratio(p-fgd.Power[i], fgd.Power[i]); !math.IsNaN(d) {
				cell += " (" + signedPercent(d) + ")"
			}
		}
		return cell
	})
	image(w, plots, PowerPlot, "Modelled power against arrived demand")
}

func writeFragmentation(w io.Writer, sums []summary, plots []string) {
	fmt.Fprintln(w, "\n## Fragmentation")
	fmt.Fprintln(w, "\nFragmented GPUs (free capacity the workload cannot use) at each arrived demand.")
	writeLevelTable(w, sums, func(s summary) []float64 { return s.Fragmented }, func(_ summary, _ int, f float64) string {
		return number(f, 1)
	})
	image(w, plots, FragmentationPlot, "Fragmentation against arrived demand")
}

func writePlacement(w io.Writer, sums []summary) {
	fmt.Fprintln(w, "\n## Placement")
	fmt.Fprintln(w, "\nNUMA-aligned: of the placed pods with more than one GPU, those whose GPUs all sit on one NUMA node; pods with more GPUs "+
		"than any NUMA node of the cluster holds cannot be aligned and are left out (in brackets: how many). "+
		"Quota overshoot: the largest amount by which a tenant's allocated usage exceeded a quota, over all tenants, resources and moments; it must be 0.")
	fmt.Fprintln(w, "\n| policy | scheduled | failed | failed by reason | multi-GPU pods NUMA-aligned | quota overshoot |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|")
	for _, s := range sums {
		r := s.Result
		aligned := dash
		if r.MultiDevicePods > 0 {
			aligned = fmt.Sprintf("%s (%d of %d)", percent(s.Aligned), r.AlignedPods, r.MultiDevicePods)
		}
		if r.UnalignablePods > 0 {
			aligned += fmt.Sprintf(" [%d larger than a NUMA node]", r.UnalignablePods)
		}
		overshoot := number(r.QuotaOvershoot, 3)
		if r.QuotaOvershoot > 0 {
			overshoot = "**" + strings.TrimSpace(overshoot+" "+r.QuotaOvershootResource) + " OVERSHOOT**"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s |\n", s.Name, r.Scheduled, r.Failed, reasons(r.FailedByReason), aligned, overshoot)
	}
}

func writeSpeed(w io.Writer, res *replay.Result, sums []summary, plots []string) {
	fmt.Fprintln(w, "\n## Speed")
	fmt.Fprintln(w, "\nPods per second: arrivals over the replay's wall time. Latency: from a pod's creation to its binding or its unschedulable verdict. "+
		"Every policy runs on the same machine in the same run, "+concurrencyText(res.Concurrency)+
		"; on a shared machine timings are noisy, so compare ratios within one report rather than across reports.")
	def := find(sums, policyDefault)
	fmt.Fprintln(w, "\n| policy | pods/s | vs default | latency p50 | p90 | p99 | wall | control-plane start + setup (not in wall) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range sums {
		r := s.Result
		vs := dash
		if def != nil {
			if q := ratio(r.PodsPerSecond, def.Result.PodsPerSecond); !math.IsNaN(q) {
				vs = strconv.FormatFloat(q, 'f', 2, 64) + "×"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s + %s |\n", s.Name, number(r.PodsPerSecond, 1), vs,
			latency(s.P50), latency(s.P90), latency(s.P99), r.Wall.Round(time.Second),
			r.ControlPlaneStartup.Round(time.Second), r.Setup.Round(time.Second))
	}
	image(w, plots, LatencyPlot, "Per-pod latency distribution")
}

func writePublished(w io.Writer) {
	fmt.Fprintln(w, "\n## Published figures")
	fmt.Fprintln(w, "\nQuoted as published, on the full openb default trace; for comparison, not for tuning.")
	fmt.Fprintln(w, "\n| source | scheduler | measure | value |")
	fmt.Fprintln(w, "|---|---|---|---:|")
	for _, f := range fgdPaper {
		fmt.Fprintf(w, "| FGD paper (Weng, Yang et al., USENIX ATC'23) | %s | GPU allocation at 100%% arrived demand | %s |\n", f.Scheduler, percent(f.Allocation))
	}
	fmt.Fprintf(w, "| PWR+FGD (CCGrid'25) | PWR+FGD | modelled power compared with FGD | %s–%s lower |\n",
		strconv.FormatFloat(100*pwrFGDSaving[0], 'f', 0, 64), percent0(pwrFGDSaving[1]))
	ref := defaultReference
	var allocs []string
	var levels []string
	for i, d := range ref.Demand {
		levels = append(levels, percent0(d))
		allocs = append(allocs, percent(ref.Allocation[i]))
	}
	fmt.Fprintf(w, "| measured reference (traces README): real kube-apiserver and kube-scheduler v1.37.2, %s GPU nodes, seed-shuffled arrivals, no departures | default profile (NodeResourcesFit LeastAllocated, DRA first-fit) | GPU allocation at %s arrived demand; %d failed pods | %s |\n",
		thousands(float64(ref.Nodes)), strings.Join(levels, " / "), ref.Failed, strings.Join(allocs, " / "))
}

func writeNotes(w io.Writer, notes, malformed []string) {
	fmt.Fprintln(w, "\n## Synthesis notes")
	fmt.Fprintln(w, "\nThe traces carry no NUMA topology, tenants or power figures; the harness synthesises them from the seed, as follows.")
	fmt.Fprintln(w)
	if len(notes) == 0 {
		fmt.Fprintln(w, "- (no notes recorded)")
	}
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(malformed) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Malformed trace rows\n\n%d row(s) were left out:\n\n", len(malformed))
	for _, m := range malformed {
		fmt.Fprintf(w, "- `%s`\n", m)
	}
}

func image(w io.Writer, plots []string, name, alt string) {
	if slices.Contains(plots, name) {
		fmt.Fprintf(w, "\n![%s](%s)\n", alt, name)
	}
}

// writeLevelTable writes a table with a row per policy and a column per
// demand level: cell formats v, the i-th of the policy's values.
func writeLevelTable(w io.Writer, sums []summary, values func(summary) []float64, cell func(s summary, i int, v float64) string) {
	fmt.Fprintf(w, "\n| policy |%s\n", levelHeader())
	fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(DemandLevels)))
	for _, s := range sums {
		fmt.Fprintf(w, "| %s |", s.Name)
		for i, v := range values(s) {
			fmt.Fprintf(w, " %s |", cell(s, i, v))
		}
		fmt.Fprintln(w)
	}
}

func levelHeader() string {
	var b strings.Builder
	for _, d := range DemandLevels {
		fmt.Fprintf(&b, " %s |", percent0(d))
	}
	return b.String()
}

func policyNames(sums []summary) []string {
	names := make([]string, 0, len(sums))
	for _, s := range sums {
		names = append(names, s.Name)
	}
	return names
}

func overshooting(sums []summary) []string {
	var names []string
	for _, s := range sums {
		if s.Result.QuotaOvershoot > 0 {
			names = append(names, s.Name)
		}
	}
	return names
}

func reasons(by map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(by)) {
		if by[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, by[k]))
		}
	}
	if len(parts) == 0 {
		return dash
	}
	return strings.Join(parts, ", ")
}

func codeList(items []string) string {
	if len(items) == 0 {
		return dash
	}
	quoted := make([]string, len(items))
	for i, it := range items {
		quoted[i] = "`" + it + "`"
	}
	return strings.Join(quoted, ", ")
}

// number formats v with prec decimals, a dash for NaN.
func number(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// percent formats a ratio as a percentage with one decimal.
func percent(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

func percent0(v float64) string {
	return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
}

// signedPercent formats a relative difference with its sign.
func signedPercent(v float64) string {
	s := strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func kilowatts(watts float64) string {
	if math.IsNaN(watts) {
		return dash
	}
	kw := watts / 1000
	if kw >= 100 {
		return thousands(kw) + " kW"
	}
	return strconv.FormatFloat(kw, 'f', 1, 64) + " kW"
}

// thousands formats v rounded to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func latency(d time.Duration) string {
	switch {
	case d < 0:
		return dash
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// concurrencyText says how the policies shared the machine.
func concurrencyText(concurrency int) string {
	if concurrency <= 1 {
		return "one after the other"
	}
	return fmt.Sprintf("%d policies at a time (each on its own control plane, in the order listed), so each policy's timings include "+
		"the load of the others running beside it", concurrency)
}
