package replay

import (
	"math"
	"slices"
	"time"
)

// LatencyPercentile returns the p-th percentile (0-100, nearest rank) of
// latencies, 0 for none.
func LatencyPercentile(latencies []time.Duration, p float64) time.Duration {
	if len(latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	return NearestRank(sorted, p)
}

// NearestRank returns the p-th percentile (0 < p <= 100) of sorted, a
// non-empty ascending list, by the nearest-rank method. The benchmark
// reports share it so that their percentiles mean the same.
func NearestRank(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
