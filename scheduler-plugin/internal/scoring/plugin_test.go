package scoring

import (
	"math"
	"testing"

	fwk "k8s.io/kube-scheduler/framework"
)

func TestNormalize(t *testing.T) {
	scores := fwk.NodeScoreList{{Name: "a", Score: -400}, {Name: "b", Score: -100}, {Name: "c", Score: Unknown}, {Name: "d", Score: -250}}
	Normalize(scores)
	want := map[string]int64{"a": 0, "b": 100, "c": 0, "d": 50}
	for _, s := range scores {
		if s.Score != want[s.Name] {
			t.Errorf("%s: %d, want %d", s.Name, s.Score, want[s.Name])
		}
	}
	equal := fwk.NodeScoreList{{Name: "a", Score: 7}, {Name: "b", Score: 7}}
	Normalize(equal)
	if equal[0].Score != 0 || equal[1].Score != 0 {
		t.Errorf("equal scores normalised to %v, want all minimum", equal)
	}
}

func TestNormalizeCosts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores fwk.NodeScoreList
		want   map[string]int64
	}{
		{
			name:   "proportional to the costliest",
			scores: fwk.NodeScoreList{{Name: "a", Score: -400}, {Name: "b", Score: -100}, {Name: "c", Score: Unknown}, {Name: "d", Score: 0}},
			want:   map[string]int64{"a": 0, "b": 75, "c": 0, "d": 100},
		},
		{
			// Min-max would give 0 and 100.
			name:   "near-equal costs score near-equally",
			scores: fwk.NodeScoreList{{Name: "a", Score: -880}, {Name: "b", Score: -874}},
			want:   map[string]int64{"a": 0, "b": 1},
		},
		{
			name:   "nothing costs anything",
			scores: fwk.NodeScoreList{{Name: "a", Score: 0}, {Name: "b", Score: 0}, {Name: "c", Score: Unknown}},
			want:   map[string]int64{"a": 0, "b": 0, "c": 0},
		},
		{
			name:   "gains count as free",
			scores: fwk.NodeScoreList{{Name: "a", Score: 50}, {Name: "b", Score: -200}},
			want:   map[string]int64{"a": 100, "b": 0},
		},
		{
			name:   "huge costs do not overflow",
			scores: fwk.NodeScoreList{{Name: "a", Score: math.MinInt64 + 1}, {Name: "b", Score: -1}},
			want:   map[string]int64{"a": 0, "b": 100},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NormalizeCosts(tc.scores)
			for _, s := range tc.scores {
				if s.Score != tc.want[s.Name] {
					t.Errorf("%s: %d, want %d", s.Name, s.Score, tc.want[s.Name])
				}
			}
		})
	}
}
