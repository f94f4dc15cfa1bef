package quota

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for name, tc := range map[string]struct {
		labels  map[string]string
		want    List
		wantErr []string // substrings, one per expected LabelError, in label order
	}{
		"no labels": {},
		"other labels ignored": {
			labels: map[string]string{"app": "x", "quota.hadron.devx/gpus": "oops"},
		},
		"every resource": {
			labels: map[string]string{
				"quota.hadron.dev/gpus":            "4",
				"quota.hadron.dev/gpu-memory":      "80Gi",
				"quota.hadron.dev/gpu-milli":       "2500",
				"quota.hadron.dev/cpus":            "64",
				"quota.hadron.dev/nics":            "0",
				"quota.hadron.dev/mig-1g.10gb":     "7",
				"quota.hadron.dev/mig-1g.10gb_me":  "1",
				"quota.hadron.dev/mig-7g.80gb":     "1",
				"capsule.clastix.io/tenant-marker": "x",
			},
			want: List{GPUs: 4, GPUMemory: 80 << 30, GPUMilli: 2500, CPUs: 64, NICs: 0,
				"mig-1g.10gb": 7, "mig-1g.10gb_me": 1, "mig-7g.80gb": 1},
		},
		"memory forms": {
			labels: map[string]string{"quota.hadron.dev/gpu-memory": "1.5Gi"},
			want:   List{GPUMemory: 3 << 29},
		},
		"memory in plain bytes and decimal units": {
			labels: map[string]string{"quota.hadron.dev/gpu-memory": "500M"},
			want:   List{GPUMemory: 500_000_000},
		},
		"leading zeros are a number": {
			labels: map[string]string{"quota.hadron.dev/gpus": "04"},
			want:   List{GPUs: 4},
		},
		"not an integer": {
			labels:  map[string]string{"quota.hadron.dev/gpus": "four"},
			wantErr: []string{`quota label quota.hadron.dev/gpus="four": want a non-negative integer`},
		},
		"fraction": {
			labels:  map[string]string{"quota.hadron.dev/cpus": "1.5"},
			wantErr: []string{`quota.hadron.dev/cpus="1.5": want a non-negative integer`},
		},
		"signed": {
			labels:  map[string]string{"quota.hadron.dev/nics": "+1"},
			wantErr: []string{`quota.hadron.dev/nics="+1"`},
		},
		"suffix on a count": {
			labels:  map[string]string{"quota.hadron.dev/gpu-milli": "2k"},
			wantErr: []string{`quota.hadron.dev/gpu-milli="2k"`},
		},
		"empty": {
			labels:  map[string]string{"quota.hadron.dev/gpus": ""},
			wantErr: []string{"empty value"},
		},
		"too large": {
			labels:  map[string]string{"quota.hadron.dev/gpus": "99999999999999999999"},
			wantErr: []string{"too large"},
		},
		"memory too large": {
			labels:  map[string]string{"quota.hadron.dev/gpu-memory": "9Ei"},
			wantErr: []string{"too large"},
		},
		"memory negative": {
			labels:  map[string]string{"quota.hadron.dev/gpu-memory": "-1Gi"},
			wantErr: []string{"negative"},
		},
		"memory fraction of a byte": {
			labels:  map[string]string{"quota.hadron.dev/gpu-memory": "0.5"},
			wantErr: []string{"whole number of bytes"},
		},
		"memory garbage": {
			labels:  map[string]string{"quota.hadron.dev/gpu-memory": "80GB"},
			wantErr: []string{`quota.hadron.dev/gpu-memory="80GB": want a non-negative quantity of bytes`},
		},
		"unknown resource": {
			labels:  map[string]string{"quota.hadron.dev/gpu": "4"},
			wantErr: []string{`unknown quota resource "gpu"; known: gpus, gpu-memory`},
		},
		"mig without profile": {
			labels:  map[string]string{"quota.hadron.dev/mig-": "4"},
			wantErr: []string{"no MIG profile"},
		},
		"all errors reported, in label order": {
			labels: map[string]string{
				"quota.hadron.dev/nics": "x",
				"quota.hadron.dev/cpus": "y",
				"quota.hadron.dev/gpus": "2",
			},
			wantErr: []string{"quota.hadron.dev/cpus", "quota.hadron.dev/nics"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.labels)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, quota %v", q.Limits)
				}
				var joined interface{ Unwrap() []error }
				if !errors.As(err, &joined) {
					t.Fatalf("error %v does not unwrap to a list", err)
				}
				errs := joined.Unwrap()
				if len(errs) != len(tc.wantErr) {
					t.Fatalf("got %d errors (%v), want %d", len(errs), err, len(tc.wantErr))
				}
				for i, e := range errs {
					var le *LabelError
					if !errors.As(e, &le) {
						t.Errorf("error %d is %T, want *LabelError", i, e)
					}
					if !strings.Contains(e.Error(), tc.wantErr[i]) {
						t.Errorf("error %d: %q does not contain %q", i, e, tc.wantErr[i])
					}
				}
				if q.Limited() {
					t.Errorf("limits returned with an error: %v", q.Limits)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, q.Limits); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMIGResource(t *testing.T) {
	for profile, want := range map[string]Resource{
		"1g.10gb":        "mig-1g.10gb",
		"1g.10gb+me":     "mig-1g.10gb_me",
		"1g.10gb-me":     "mig-1g.10gb-me",
		"1g.10gb+me.all": "mig-1g.10gb_me.all",
	} {
		if got := MIG(profile); got != want {
			t.Errorf("MIG(%q) = %q, want %q", profile, got, want)
		}
		if _, err := Parse(map[string]string{want.Label(): "1"}); err != nil {
			t.Errorf("label of %q does not parse: %v", profile, err)
		}
	}
}

func TestCheck(t *testing.T) {
	q := Quota{Limits: List{GPUs: 4, GPUMemory: 80 << 30}}
	for name, tc := range map[string]struct {
		used, request List
		want          string
	}{
		"fits":             {used: List{GPUs: 3}, request: List{GPUs: 1}},
		"unlimited":        {used: List{CPUs: 1000}, request: List{CPUs: 64}},
		"exceeds":          {used: List{GPUs: 4}, request: List{GPUs: 1}, want: "quota.hadron.dev/gpus exceeded: used 4, requested 1, limit 4"},
		"memory in units":  {used: List{GPUMemory: 80 << 30}, request: List{GPUMemory: 10 << 30}, want: "quota.hadron.dev/gpu-memory exceeded: used 80Gi, requested 10Gi, limit 80Gi"},
		"untouched excess": {used: List{GPUs: 9}, request: List{GPUMemory: 1}},
		"first in order":   {used: List{GPUs: 4, GPUMemory: 80 << 30}, request: List{GPUs: 1, GPUMemory: 1}, want: "quota.hadron.dev/gpus"},
		"no overflow":      {used: List{GPUMemory: 1}, request: List{GPUMemory: 1<<63 - 1}, want: "gpu-memory exceeded"},
	} {
		t.Run(name, func(t *testing.T) {
			v := q.Check(tc.used, tc.request)
			switch {
			case tc.want == "" && v != nil:
				t.Errorf("unexpected violation %s", v)
			case tc.want != "" && v == nil:
				t.Errorf("no violation, want %q", tc.want)
			case v != nil && !strings.Contains(v.String(), tc.want):
				t.Errorf("violation %q, want %q", v, tc.want)
			}
		})
	}
}

func TestRelaxed(t *testing.T) {
	four := Quota{Limits: List{GPUs: 4}}
	for name, tc := range map[string]struct {
		prev, next Quota
		want       bool
	}{
		"same":          {four, four, false},
		"raised":        {four, Quota{Limits: List{GPUs: 5}}, true},
		"lowered":       {four, Quota{Limits: List{GPUs: 3}}, false},
		"removed":       {four, Quota{}, true},
		"added limit":   {Quota{}, four, false},
		"other removed": {Quota{Limits: List{GPUs: 4, CPUs: 1}}, four, true},
	} {
		if got := Relaxed(tc.prev, tc.next); got != tc.want {
			t.Errorf("%s: Relaxed = %v, want %v", name, got, tc.want)
		}
	}
}

func TestListString(t *testing.T) {
	l := List{"mig-2g.20gb": 1, CPUs: 8, GPUs: 2, GPUMemory: 160 << 30, NICs: 0, "mig-1g.10gb": 3}
	want := "gpus=2, gpu-memory=160Gi, cpus=8, mig-1g.10gb=3, mig-2g.20gb=1"
	if got := l.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (List{}).String(); got != "nothing" {
		t.Errorf("empty String() = %q", got)
	}
}
