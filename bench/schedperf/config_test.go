package schedperf_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/bench/schedperf"
	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

func TestHadronAsDefault(t *testing.T) {
	data, err := schedperf.HadronAsDefault(deploy.SchedulerConfig)
	if err != nil {
		t.Fatal(err)
	}
	got := schedtest.ValidConfig(t, "generated configuration", data)
	if len(got.Profiles) != 1 || got.Profiles[0].SchedulerName != "default-scheduler" {
		t.Fatalf("want only the default-scheduler profile, got %d profiles: %v", len(got.Profiles), got.Profiles)
	}
	shipped := schedtest.ShippedConfig(t)
	i := slices.IndexFunc(shipped.Profiles, func(p config.KubeSchedulerProfile) bool {
		return p.SchedulerName == schedperf.HadronProfile
	})
	if i < 0 {
		t.Fatalf("the shipped configuration has no %s profile", schedperf.HadronProfile)
	}
	want := shipped.Profiles[i]
	want.SchedulerName = "default-scheduler"
	if diff := cmp.Diff(want, got.Profiles[0]); diff != "" {
		t.Errorf("profile differs from the shipped %s profile (-want +got):\n%s", schedperf.HadronProfile, diff)
	}
}

func TestHadronAsDefaultNoProfile(t *testing.T) {
	_, err := schedperf.HadronAsDefault([]byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n"))
	if err == nil || !strings.Contains(err.Error(), schedperf.HadronProfile) {
		t.Fatalf("want an error naming %s, got %v", schedperf.HadronProfile, err)
	}
}

func TestWriteConfigs(t *testing.T) {
	perfDir, err := schedperf.PerfDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := schedperf.WriteConfigs(dir, perfDir, deploy.SchedulerConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range schedperf.Variants {
		for _, src := range schedperf.Sources {
			t.Run(v.Name+"/"+src.Name, func(t *testing.T) {
				data, err := os.ReadFile(files[v.Name][src.Name])
				if err != nil {
					t.Fatal(err)
				}
				var testCases []struct {
					Name                string
					SchedulerConfigPath string
					Labels              []string
					Workloads           []map[string]any
				}
				if err := yaml.Unmarshal(data, &testCases); err != nil {
					t.Fatal(err)
				}
				var got []schedperf.Workload
				for _, tc := range testCases {
					if v.Hadron != (tc.SchedulerConfigPath != "") {
						t.Errorf("%s: schedulerConfigPath %q for variant %s", tc.Name, tc.SchedulerConfigPath, v.Name)
					}
					if len(tc.Labels) > 0 {
						t.Errorf("%s: test case labels %v would apply to every workload", tc.Name, tc.Labels)
					}
					for _, w := range tc.Workloads {
						labels, _ := w["labels"].([]any)
						if len(labels) != 1 {
							t.Errorf("%s/%v: labels %v, want one", tc.Name, w["name"], labels)
							continue
						}
						if _, ok := w["threshold"]; ok {
							t.Errorf("%s/%v: threshold kept", tc.Name, w["name"])
						}
						got = append(got, schedperf.Workload{TestCase: tc.Name, Name: w["name"].(string), Label: labels[0].(string)})
					}
				}
				less := func(a, b schedperf.Workload) int {
					return strings.Compare(a.TestCase+"/"+a.Name, b.TestCase+"/"+b.Name)
				}
				want := slices.SortedFunc(slices.Values(src.Workloads), less)
				if diff := cmp.Diff(want, slices.SortedFunc(slices.Values(got), less)); diff != "" {
					t.Errorf("workloads (-want +got):\n%s", diff)
				}
				checkPaths(t, data)
			})
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hadron-scheduler-config.yaml")); err != nil {
		t.Error(err)
	}
}

// checkPaths fails unless every file path in a generated configuration is
// absolute and exists.
func checkPaths(t *testing.T, data []byte) {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	n := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, val := range v {
				if s, ok := val.(string); ok && strings.HasSuffix(k, "Path") {
					n++
					if !filepath.IsAbs(s) {
						t.Errorf("%s: %q is relative", k, s)
					} else if _, err := os.Stat(s); err != nil {
						t.Errorf("%s: %v", k, err)
					}
				}
				walk(val)
			}
		case []any:
			for _, val := range v {
				walk(val)
			}
		}
	}
	walk(doc)
	if n == 0 {
		t.Error("no file paths found")
	}
}

func TestGenerateConfigMissingWorkload(t *testing.T) {
	perfDir, err := schedperf.PerfDir(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	src := schedperf.Sources[0]
	src.Workloads = append(slices.Clone(src.Workloads), schedperf.Workload{TestCase: "SchedulingWithResourceClaimTemplate", Name: "no_such_workload", Label: schedperf.LabelSmoke})
	_, err = schedperf.GenerateConfig(perfDir, src, "")
	if err == nil || !strings.Contains(err.Error(), "no_such_workload") {
		t.Fatalf("want an error naming the missing workload, got %v", err)
	}
}
