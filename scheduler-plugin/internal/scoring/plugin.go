package scoring

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// SignPod refuses pods with claims, as the DynamicResources plugin does:
// their scores depend on the claims' contents and the devices' state,
// which no signature fragment covers. Other pods get no score from
// hadron's plugins, so they sign without fragments.
func SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if len(pod.Spec.ResourceClaims) > 0 {
		return nil, fwk.NewStatus(fwk.Unschedulable, "pods with DRA resource claims are not signable")
	}
	return nil, nil
}

// Unknown is the raw score of a node the plugin cannot judge (no hadron
// devices modelled there); it normalises to the minimum and does not
// stretch the others' range.
const Unknown int64 = math.MinInt64

// Normalize maps raw scores (higher is better) linearly onto
// [MinScore, MaxScore]: the best node gets the maximum, the worst
// the minimum. When all are equal, all get the minimum, so the plugin
// does not sway the choice.
func Normalize(scores fwk.NodeScoreList) {
	known := false
	var lo, hi int64
	for _, s := range scores {
		if s.Score == Unknown {
			continue
		}
		if !known {
			lo, hi, known = s.Score, s.Score, true
		}
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		if scores[i].Score == Unknown || hi == lo {
			scores[i].Score = fwk.MinScore
			continue
		}
		// In float: raw scores may span more than MaxInt64/100.
		scores[i].Score = fwk.MinScore + int64(math.Round(float64(scores[i].Score-lo)/float64(hi-lo)*float64(fwk.MaxScore-fwk.MinScore)))
	}
}

// NormalizeCosts maps raw scores that are minus non-negative costs onto
// [MinScore, MaxScore] in proportion to the costliest node's cost: a node
// costing c scores MaxScore * (1 - c / costliest), so a free placement
// gets the maximum and nodes of nearly equal cost nearly equal scores
// (unlike Normalize, which stretches any difference to the full range).
// Negative costs count as 0; when nothing costs anything, all get the
// minimum, so the plugin does not sway the choice.
func NormalizeCosts(scores fwk.NodeScoreList) {
	var costliest int64
	for _, s := range scores {
		if s.Score != Unknown {
			costliest = max(costliest, -s.Score)
		}
	}
	for i := range scores {
		if scores[i].Score == Unknown || costliest <= 0 {
			scores[i].Score = fwk.MinScore
			continue
		}
		cost := max(-scores[i].Score, 0)
		scores[i].Score = fwk.MinScore + int64(math.Round(float64(costliest-cost)/float64(costliest)*float64(fwk.MaxScore-fwk.MinScore)))
	}
}
