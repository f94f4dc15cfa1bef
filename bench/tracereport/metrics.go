package tracereport

import (
	"math"
	"slices"
	"time"

	"github.com/hadron-sched/hadron/bench/replay"
)

// DemandLevels are the arrived GPU demands (shares of the cluster's GPUs)
// at which the report compares policies: the FGD paper reports 100 %,
// the measured default reference 50, 90 and 100 %, and 130 % shows an
// overloaded cluster.
var DemandLevels = []float64{0.5, 0.9, 1.0, 1.3}

// demandTolerance absorbs rounding in cumulative demand sums, so that a
// run whose last arrival brings the demand to 0.99999999 still counts as
// having reached 100 %.
const demandTolerance = 1e-6

// at interpolates a per-sample value linearly at the arrived demand d.
// It returns NaN when the replay never reached d. Below the first sample
// it returns the first sample's value: with thousands of arrivals the
// first one is a tiny share of the cluster.
func at(samples []replay.Sample, d float64, value func(replay.Sample) float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	if d <= samples[0].ArrivedGPUDemand {
		return value(samples[0])
	}
	last := samples[len(samples)-1]
	if d > last.ArrivedGPUDemand+demandTolerance {
		return math.NaN()
	}
	if d >= last.ArrivedGPUDemand {
		return value(last)
	}
	// The first sample at or past d; arrived demand never decreases.
	i, _ := slices.BinarySearchFunc(samples, d, func(s replay.Sample, d float64) int {
		switch {
		case s.ArrivedGPUDemand < d:
			return -1
		case s.ArrivedGPUDemand > d:
			return 1
		}
		return 0
	})
	hi := samples[i]
	if hi.ArrivedGPUDemand == d {
		// Several samples can share one demand (arrivals without GPUs):
		// the state after the last of them is the state at d.
		for i+1 < len(samples) && samples[i+1].ArrivedGPUDemand == d {
			i++
		}
		return value(samples[i])
	}
	lo := samples[i-1]
	f := (d - lo.ArrivedGPUDemand) / (hi.ArrivedGPUDemand - lo.ArrivedGPUDemand)
	return value(lo) + f*(value(hi)-value(lo))
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method, and -1 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	return replay.NearestRank(sorted, p)
}

// summary is what the report shows of one policy.
type summary struct {
	Name string
	// Allocation, Power and Fragmented hold, per DemandLevels entry, the
	// GPU allocation ratio, modelled watts and fragmented GPUs (NaN where
	// not reached).
	Allocation []float64
	Power      []float64
	Fragmented []float64
	// Unallocated is the cluster's GPUs minus the allocated ones at 100 %
	// arrived demand.
	Unallocated float64
	// FragmentationRatio is the share of the unallocated GPUs at 100 %
	// that are fragmented.
	FragmentationRatio float64
	// Aligned is the share of multi-device pods placed on one NUMA node
	// (NaN without multi-device pods).
	Aligned       float64
	P50, P90, P99 time.Duration
	Result        *replay.PolicyResult
}

func summarize(res *replay.Result) []summary {
	out := make([]summary, 0, len(res.Policies))
	gpus := float64(res.ClusterGPUs)
	for i := range res.Policies {
		p := &res.Policies[i]
		s := summary{Name: p.Policy, Result: p, Aligned: math.NaN()}
		for _, d := range DemandLevels {
			alloc := at(p.Samples, d, func(s replay.Sample) float64 { return s.AllocatedGPUs })
			s.Allocation = append(s.Allocation, ratio(alloc, gpus))
			s.Power = append(s.Power, at(p.Samples, d, func(s replay.Sample) float64 { return s.PowerWatts }))
			s.Fragmented = append(s.Fragmented, at(p.Samples, d, func(s replay.Sample) float64 { return s.FragmentedGPUs }))
		}
		full := levelIndex(1.0)
		s.Unallocated = gpus - s.Allocation[full]*gpus
		s.FragmentationRatio = ratio(s.Fragmented[full], s.Unallocated)
		if p.MultiDevicePods > 0 {
			s.Aligned = float64(p.AlignedPods) / float64(p.MultiDevicePods)
		}
		lat := slices.Clone(p.Latencies)
		slices.Sort(lat)
		s.P50, s.P90, s.P99 = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
		out = append(out, s)
	}
	return out
}

// ratio is a/b, NaN when b is zero or either is NaN.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

// levelIndex is the index of demand d in DemandLevels.
func levelIndex(d float64) int {
	return slices.Index(DemandLevels, d)
}

// find returns the summary of the named policy, nil if it did not run.
func find(sums []summary, name string) *summary {
	for i := range sums {
		if sums[i].Name == name {
			return &sums[i]
		}
	}
	return nil
}
