package tracereport

import (
	"math"
	"testing"
	"time"

	"github.com/hadron-sched/hadron/bench/replay"
)

func TestAt(t *testing.T) {
	samples := []replay.Sample{
		{ArrivedGPUDemand: 0.1, AllocatedGPUs: 1},
		{ArrivedGPUDemand: 0.5, AllocatedGPUs: 5},
		{ArrivedGPUDemand: 0.5, AllocatedGPUs: 4}, // a CPU-only arrival that moved nothing
		{ArrivedGPUDemand: 0.9, AllocatedGPUs: 9},
		{ArrivedGPUDemand: 0.99999999, AllocatedGPUs: 10},
	}
	alloc := func(s replay.Sample) float64 { return s.AllocatedGPUs }
	for _, tc := range []struct {
		name    string
		samples []replay.Sample
		demand  float64
		want    float64
	}{
		{"no samples", nil, 0.5, math.NaN()},
		{"below the first sample", samples, 0.05, 1},
		{"exactly a sample, last of equals", samples, 0.5, 4},
		{"between samples", samples, 0.7, 6.5},
		{"within rounding of the last", samples, 1.0, 10},
		{"not reached", samples, 1.3, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := at(tc.samples, tc.demand, alloc)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-9) {
				t.Errorf("at(%v) = %v, want %v", tc.demand, got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, -1},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		{"p90 of ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	res := &replay.Result{
		ClusterGPUs: 100,
		Policies: []replay.PolicyResult{{
			Policy: "hadron",
			Samples: []replay.Sample{
				{ArrivedGPUDemand: 0.5, AllocatedGPUs: 50, FragmentedGPUs: 2, PowerWatts: 5000},
				{ArrivedGPUDemand: 1.0, AllocatedGPUs: 90, FragmentedGPUs: 4, PowerWatts: 9000},
			},
			MultiDevicePods: 4,
			AlignedPods:     3,
			Latencies:       []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond},
		}},
	}
	s := summarize(res)[0]
	full := levelIndex(1.0)
	if s.Allocation[full] != 0.9 || s.Unallocated != 10 || s.FragmentationRatio != 0.4 {
		t.Errorf("at 100%%: allocation %v, unallocated %v, fragmentation ratio %v; want 0.9, 10, 0.4", s.Allocation[full], s.Unallocated, s.FragmentationRatio)
	}
	if !math.IsNaN(s.Allocation[levelIndex(1.3)]) {
		t.Errorf("allocation at 130%% = %v, want NaN (not reached)", s.Allocation[levelIndex(1.3)])
	}
	if s.Aligned != 0.75 {
		t.Errorf("aligned share = %v, want 0.75", s.Aligned)
	}
	if s.P50 != 2*time.Millisecond || s.P99 != 3*time.Millisecond {
		t.Errorf("p50 %v, p99 %v; want 2ms, 3ms", s.P50, s.P99)
	}
}
