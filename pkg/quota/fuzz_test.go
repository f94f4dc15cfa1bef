package quota

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary quota labels to Parse: it never panics, every
// failure is a *LabelError naming the label, every accepted limit is
// non-negative and survives formatting and parsing again, and one bad
// label never lets the others through.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct{ resource, value string }{
		{"gpus", "4"}, {"gpu-memory", "80Gi"}, {"gpu-memory", "1.5Gi"}, {"gpu-memory", "1e3"},
		{"gpu-milli", "2500"}, {"mig-1g.10gb", "7"}, {"cpus", "64"}, {"nics", "0"},
		{"gpus", "four"}, {"gpus", "-1"}, {"gpus", ""}, {"gpu-memory", "0.5"}, {"gpu-memory", "9Ei"},
		{"gpu", "1"}, {"mig-", "1"}, {"gpus", "99999999999999999999"}, {"gpu-memory", "1E18"},
		{"gpu-memory", "0.000000001Ki"}, {"gpu-memory", "+12345678901234567890m"},
	} {
		f.Add(seed.resource, seed.value)
	}
	f.Fuzz(func(t *testing.T, res, value string) {
		label := LabelPrefix + res
		labels := map[string]string{"quota.hadron.dev/gpus": "1", "unrelated": value}
		labels[label] = value
		q, err := Parse(labels)
		if err != nil {
			var le *LabelError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a *LabelError", err)
			}
			if !strings.Contains(err.Error(), label) {
				t.Fatalf("error %q does not name label %q", err, label)
			}
			if q.Limited() {
				t.Fatalf("limits %v returned with error %v", q.Limits, err)
			}
			return
		}
		r := Resource(res)
		v, ok := q.Limits[r]
		if !ok {
			t.Fatalf("accepted %q=%q without a limit for %q: %v", label, value, r, q.Limits)
		}
		if v < 0 {
			t.Fatalf("negative limit %d from %q", v, value)
		}
		again, err := Parse(map[string]string{label: r.Format(v)})
		if err != nil {
			t.Fatalf("formatted limit %q of %q does not parse: %v", r.Format(v), value, err)
		}
		if again.Limits[r] != v {
			t.Fatalf("round trip of %q: %d became %d", value, v, again.Limits[r])
		}
	})
}
