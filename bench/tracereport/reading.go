package tracereport

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hadron-sched/hadron/bench/replay"
	"github.com/hadron-sched/hadron/bench/trace"
)

// referenceSetup reports whether the run replays the setup of the measured
// default reference and the FGD paper: the full GPU node list, the
// default pod list, arrivals only.
func referenceSetup(res *replay.Result) bool {
	ref := defaultReference
	if res.Nodes != ref.Nodes || res.ClusterGPUs != ref.GPUs || res.Mode != ref.Mode {
		return false
	}
	return slices.ContainsFunc(res.TraceFiles, func(f string) bool { return filepath.Base(f) == ref.PodList })
}

// reading writes what the numbers say, one statement per line, in the
// order: allocation, the FGD paper, power, the default reference,
// alignment, failures and quotas, speed.
func reading(res *replay.Result, sums []summary) []string {
	if len(sums) == 0 {
		return []string{"No policy ran."}
	}
	var lines []string
	lines = append(lines, readAllocation(sums)...)
	published := !withDepartures(res)
	if published {
		lines = append(lines, readFGDPaper(res, sums)...)
	} else {
		lines = append(lines, departuresNote)
	}
	lines = append(lines, readPower(sums, published)...)
	if published {
		lines = append(lines, readReference(res, sums)...)
	}
	lines = append(lines, readAlignment(sums)...)
	lines = append(lines, readQuota(sums))
	lines = append(lines, readSpeed(sums)...)
	return lines
}

// withDepartures says whether pods left at their trace times: the
// published figures and the measured reference replay arrivals only.
func withDepartures(res *replay.Result) bool { return res.Mode == string(trace.DeparturesMode) }

// departuresNote reads a run with departures, in place of the comparisons
// with published figures.
const departuresNote = "Pods departed at their trace deletion times: the allocation at a demand level is what was running when the cumulative arrived demand reached it, not what the cluster could hold. " +
	"The FGD paper, PWR+FGD and the measured reference replay arrivals without departures, so this run is not compared with them: compare the policies with each other."

// readAllocation ranks the policies by GPU allocation at 100 % arrived
// demand, or at the highest level every policy reached.
func readAllocation(sums []summary) []string {
	level := -1
	for i := range DemandLevels {
		if !slices.ContainsFunc(sums, func(s summary) bool { return math.IsNaN(s.Allocation[i]) }) {
			level = i
		}
	}
	if level < 0 {
		return []string{"Not every policy reached 50% arrived GPU demand: compare the curves in the allocation plot instead."}
	}
	full := levelIndex(1.0)
	if level > full {
		level = full
	}
	ranked := slices.Clone(sums)
	slices.SortStableFunc(ranked, func(a, b summary) int { return cmp.Compare(b.Allocation[level], a.Allocation[level]) })
	var others []string
	for _, s := range ranked[1:] {
		others = append(others, fmt.Sprintf("%s %s", s.Name, percent(s.Allocation[level])))
	}
	line := fmt.Sprintf("At %s arrived GPU demand, **%s** allocates the most GPUs: %s of the cluster's",
		percent0(DemandLevels[level]), ranked[0].Name, percent(ranked[0].Allocation[level]))
	if len(others) > 0 {
		line += "; then " + strings.Join(others, ", ")
	}
	line += "."
	if level < full {
		line += fmt.Sprintf(" Not every policy reached 100%%, so %s is the highest level all of them reached.", percent0(DemandLevels[level]))
	}
	return []string{line}
}

func readFGDPaper(res *replay.Result, sums []summary) []string {
	h := find(sums, policyHadron)
	full := levelIndex(1.0)
	if h == nil || math.IsNaN(h.Allocation[full]) {
		return nil
	}
	gap := 100 * (h.Allocation[full] - fgdPaperFGD)
	dir := "below"
	if gap >= 0 {
		dir = "above"
	}
	line := fmt.Sprintf("hadron allocates %s at 100%% arrived demand, %s points %s the FGD paper's FGD figure (%s).",
		percent(h.Allocation[full]), strconv.FormatFloat(math.Abs(gap), 'f', 1, 64), dir, percent(fgdPaperFGD))
	if !referenceSetup(res) {
		line += fmt.Sprintf(" The paper replays the full default trace on %s GPU nodes; this run replays %d nodes (%s), so the gap is indicative only.",
			thousands(float64(defaultReference.Nodes)), res.Nodes, res.Mode)
	}
	return []string{line}
}

// readPower compares modelled power at 100 % arrived demand (or the
// highest level both reached): hadron's and the power policy's with
// fgd's, the baseline of PWR+FGD's published saving (quoted when
// published applies to the run), and hadron's with the default profile's.
func readPower(sums []summary, published bool) []string {
	var lines []string
	for _, c := range []struct{ name, baseline string }{
		{policyHadron, policyFGD},
		{policyPower, policyFGD},
		{policyHadron, policyDefault},
	} {
		s, base := find(sums, c.name), find(sums, c.baseline)
		if s == nil || base == nil {
			continue
		}
		level := highestCommonLevel(s.Power, base.Power)
		if level < 0 {
			continue
		}
		d := ratio(s.Power[level]-base.Power[level], base.Power[level])
		if math.IsNaN(d) {
			continue
		}
		word := "less"
		if d > 0 {
			word = "more"
		}
		line := fmt.Sprintf("At %s arrived demand, %s's modelled power is %s %s than %s's (%s against %s).",
			percent0(DemandLevels[level]), c.name, strconv.FormatFloat(math.Abs(100*d), 'f', 1, 64)+"%", word, c.baseline,
			kilowatts(s.Power[level]), kilowatts(base.Power[level]))
		// A policy that allocates fewer GPUs draws less by that alone:
		// per allocated GPU tells placement from lost work.
		sp, bp := s.Power[level]/s.Allocation[level], base.Power[level]/base.Allocation[level]
		if dp := ratio(sp-bp, bp); !math.IsNaN(dp) && !math.IsInf(sp, 0) && !math.IsInf(bp, 0) {
			word := "less"
			if dp > 0 {
				word = "more"
			}
			line += fmt.Sprintf(" Per allocated GPU (as a share of the cluster): %s %s.",
				strconv.FormatFloat(math.Abs(100*dp), 'f', 1, 64)+"%", word)
		}
		if c.name == policyPower && published {
			line += fmt.Sprintf(" PWR+FGD publishes %s–%s less than FGD.",
				strconv.FormatFloat(100*pwrFGDSaving[0], 'f', 0, 64), percent0(pwrFGDSaving[1]))
		}
		lines = append(lines, line)
	}
	if find(sums, policyFGD) == nil {
		lines = append(lines, "The fgd policy did not run, so power is not compared with the FGD baseline.")
	}
	return lines
}

// highestCommonLevel is the index of the highest demand level, 100 % at
// most, at which both a and b have values; -1 if none.
func highestCommonLevel(a, b []float64) int {
	level := -1
	for i := 0; i <= levelIndex(1.0); i++ {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			level = i
		}
	}
	return level
}

// readReference compares the default profile with the measured
// reference, and warns when a run of the reference's setup lands far
// from it.
func readReference(res *replay.Result, sums []summary) []string {
	def := find(sums, policyDefault)
	if def == nil {
		return []string{"The default profile did not run, so the run is not checked against the measured reference."}
	}
	ref := defaultReference
	var diffs []string
	far := false
	for i, d := range ref.Demand {
		got := def.Allocation[levelIndex(d)]
		if math.IsNaN(got) {
			diffs = append(diffs, fmt.Sprintf("%s not reached", percent0(d)))
			far = true
			continue
		}
		delta := got - ref.Allocation[i]
		if math.Abs(delta) > referenceTolerance {
			far = true
		}
		diffs = append(diffs, fmt.Sprintf("%s at %s (reference %s)", percent(got), percent0(d), percent(ref.Allocation[i])))
	}
	line := "Default profile: " + strings.Join(diffs, ", ") + "."
	switch {
	case !referenceSetup(res):
		line += fmt.Sprintf(" The reference was measured on the full default trace (%s GPU nodes, demand mode); this run differs, so no conclusion is drawn from the difference.",
			thousands(float64(ref.Nodes)))
	case far:
		line += fmt.Sprintf(" **WARNING: the default profile lands more than %s points from the measured reference on the same setup: this benchmark is measuring something else than the reference did; check the synthesis before reading the other numbers.**",
			strconv.FormatFloat(100*referenceTolerance, 'f', 0, 64))
	default:
		line += fmt.Sprintf(" Within %s points of the reference at every level: the harness reproduces it.",
			strconv.FormatFloat(100*referenceTolerance, 'f', 0, 64))
	}
	return []string{line}
}

func readAlignment(sums []summary) []string {
	var parts []string
	for _, s := range sums {
		if s.Result.MultiDevicePods == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", s.Name, percent(s.Aligned)))
	}
	if len(parts) == 0 {
		return []string{"No policy placed a pod with more than one GPU that one NUMA node could hold, so NUMA alignment is not measured."}
	}
	return []string{"Multi-GPU pods placed on one NUMA node (of those one NUMA node could hold): " + strings.Join(parts, ", ") + "."}
}

func readQuota(sums []summary) string {
	if over := overshooting(sums); len(over) > 0 {
		return fmt.Sprintf("**WARNING: quota overshoot in %s** — tenants' usage exceeded their quotas; the results of these policies are invalid.", strings.Join(over, ", "))
	}
	return "No policy let a tenant exceed its quota (overshoot 0 everywhere)."
}

func readSpeed(sums []summary) []string {
	def := find(sums, policyDefault)
	h := find(sums, policyHadron)
	if def == nil || h == nil {
		return nil
	}
	q := ratio(h.Result.PodsPerSecond, def.Result.PodsPerSecond)
	if math.IsNaN(q) {
		return nil
	}
	return []string{fmt.Sprintf("hadron replays at %s× the default profile's pods/s in this run (%s against %s pods/s; latency p99 %s against %s). "+
		"Timings on a shared machine are noisy: trust ratios within one run, not absolute rates across runs.",
		strconv.FormatFloat(q, 'f', 2, 64), number(h.Result.PodsPerSecond, 1), number(def.Result.PodsPerSecond, 1), latency(h.P99), latency(def.P99))}
}
