package alignment

import (
	"testing"

	resourceapi "k8s.io/api/resource/v1"
)

func TestVerdictsAreKeptPerDeviceAndBounded(t *testing.T) {
	v := newVerdicts()
	a, b := &resourceapi.Device{Name: "a"}, &resourceapi.Device{Name: "a"}
	v.put(verdictKey{a, "x"}, true)
	if got, ok := v.get(verdictKey{a, "x"}); !ok || !got {
		t.Fatal("verdict not kept")
	}
	// Another object (a replaced device) or other selectors are not the
	// same question, even with equal content.
	for _, k := range []verdictKey{{b, "x"}, {a, "y"}} {
		if _, ok := v.get(k); ok {
			t.Fatalf("verdict for %v answered from another key", k)
		}
	}
	for i := 0; i < maxVerdicts; i++ {
		v.put(verdictKey{&resourceapi.Device{}, "x"}, false)
	}
	if n := len(v.m); n > maxVerdicts {
		t.Fatalf("%d verdicts kept, bound is %d", n, maxVerdicts)
	}
	if _, ok := v.get(verdictKey{a, "x"}); ok {
		t.Fatal("a full cache was not emptied")
	}
}
