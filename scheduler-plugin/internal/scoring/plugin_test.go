package scoring

import (
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
