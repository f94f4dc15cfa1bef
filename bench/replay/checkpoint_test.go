package replay

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hadron-sched/hadron/bench/trace"
)

func TestCheckpointRoundTrip(t *testing.T) {
	w := tinyWorkload(t)
	policies, err := Policies(PolicySettings{Target: TargetWorkload(w), PercentageOfNodesToScore: ScoreAllNodes}, "default", "hadron")
	if err != nil {
		t.Fatal(err)
	}
	key, err := checkpointKey(w, policies[1], "abc123")
	if err != nil {
		t.Fatal(err)
	}
	// The key follows everything the result depends on.
	other := *w
	other.Events = slices.Clone(w.Events[:len(w.Events)-1])
	for name, variant := range map[string]func() (string, error){
		"same":            func() (string, error) { return checkpointKey(w, policies[1], "abc123") },
		"other policy":    func() (string, error) { return checkpointKey(w, policies[0], "abc123") },
		"other code":      func() (string, error) { return checkpointKey(w, policies[1], "def456") },
		"other workload":  func() (string, error) { return checkpointKey(&other, policies[1], "abc123") },
		"other nodes set": func() (string, error) { return checkpointKey(&trace.Workload{Events: w.Events}, policies[1], "abc123") },
	} {
		got, err := variant()
		if err != nil {
			t.Fatal(err)
		}
		if (got == key) != (name == "same") {
			t.Errorf("%s: key equal %v", name, got == key)
		}
	}

	file := checkpointFile(t.TempDir(), 1, policies[1])
	if res, err := loadCheckpoint(file, key); res != nil || err != nil {
		t.Fatalf("missing checkpoint: %v, %v", res, err)
	}
	want := &PolicyResult{Policy: "hadron", Samples: []Sample{{ArrivedGPUDemand: 0.5, AllocatedGPUs: 3, PowerWatts: 100}},
		Placements: map[string]string{"p-1": "node-a/gpu-0", "p-2": ""}, Scheduled: 1, Failed: 1,
		FailedByReason: map[string]int{"capacity": 1}, Latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond},
		Wall: time.Second, PodsPerSecond: 2, MultiDevicePods: 1, AlignedPods: 1}
	if err := saveCheckpoint(file, key, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadCheckpoint(file, key)
	if err != nil || got == nil {
		t.Fatalf("load: %v, %v", got, err)
	}
	if got.Policy != want.Policy || got.Wall != want.Wall || !slices.Equal(got.Latencies, want.Latencies) ||
		got.Placements["p-1"] != "node-a/gpu-0" || got.FailedByReason["capacity"] != 1 || len(got.Samples) != 1 || got.AlignedPods != 1 {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
	if stale, err := loadCheckpoint(file, "another key"); stale != nil || err != nil {
		t.Errorf("stale checkpoint reused: %v, %v", stale, err)
	}
	if err := os.WriteFile(file, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCheckpoint(file, key); err == nil {
		t.Error("corrupt checkpoint accepted")
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "*.tmp")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}
