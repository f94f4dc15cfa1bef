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
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
