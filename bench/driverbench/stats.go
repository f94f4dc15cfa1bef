package driverbench

import (
	"slices"
	"time"

	"github.com/hadron-sched/hadron/bench/replay"
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
	return Summary{N: len(sorted), P50: replay.NearestRank(sorted, 50), P90: replay.NearestRank(sorted, 90),
		P99: replay.NearestRank(sorted, 99), Max: sorted[len(sorted)-1]}
}
