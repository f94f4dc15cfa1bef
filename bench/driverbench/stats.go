package driverbench

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of one measurement's samples.
type Summary struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// Summarize computes nearest-rank percentiles: Pxx is the smallest sample
// that at least xx% of the samples do not exceed.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[min(max(i, 0), len(sorted)-1)]
	}
	return Summary{N: len(sorted), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: sorted[len(sorted)-1]}
}
