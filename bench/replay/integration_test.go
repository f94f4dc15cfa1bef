package replay

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/localcluster"
)

// TestReplayTinyWorkload replays a tiny workload with the default and the
// hadron policies, then hadron again, two at a time: results must be sane
// and the second hadron run must place every pod exactly as the first.
func TestReplayTinyWorkload(t *testing.T) {
	if os.Getenv("HADRON_SKIP_INTEGRATION") != "" {
		t.Skip("HADRON_SKIP_INTEGRATION is set")
	}
	binDir := localcluster.DefaultBinDir()
	if binDir == "" {
		t.Fatal("no control-plane binaries found; run make build")
	}
	_, ctx := ktesting.NewTestContext(t)
	w := tinyWorkload(t)
	policies, err := Policies(PolicySettings{Target: TargetWorkload(w), PercentageOfNodesToScore: ScoreAllNodes}, "default", "hadron")
	if err != nil {
		t.Fatal(err)
	}
	policies = append(policies, policies[1])
	// Two at a time: default and hadron replay side by side, then hadron
	// again beside nothing; placements must not depend on it.
	var progressDone, progressTotal int
	checkpoints := t.TempDir()
	res, err := Run(ctx, Options{BinDir: binDir, Workload: w, Policies: policies, WorkDir: t.TempDir(), Concurrency: 2,
		CheckpointDir: checkpoints, CodeVersion: "test",
		Progress: func(_ string, done, total int) {
			progressDone, progressTotal = max(progressDone, done), total
		}})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(policies) * len(w.Events); progressDone != want || progressTotal != want {
		t.Errorf("combined progress reached %d of %d events, want %d of %d", progressDone, progressTotal, want, want)
	}
	if res.Concurrency != 2 || len(res.Policies) != len(policies) {
		t.Fatalf("concurrency %d, %d results", res.Concurrency, len(res.Policies))
	}
	arrivals := 40
	for i, pr := range res.Policies {
		if pr.Policy != policies[i].Name {
			t.Errorf("result %d is policy %s, want %s", i, pr.Policy, policies[i].Name)
		}
		if pr.Scheduled+pr.Failed != arrivals || len(pr.Samples) != arrivals || len(pr.Latencies) != arrivals || len(pr.Placements) != arrivals {
			t.Errorf("%s: scheduled %d + failed %d, %d samples, %d latencies, %d placements; want %d arrivals each",
				pr.Policy, pr.Scheduled, pr.Failed, len(pr.Samples), len(pr.Latencies), len(pr.Placements), arrivals)
		}
		if pr.QuotaOvershoot != 0 {
			t.Errorf("%s: quota overshot by %v %s", pr.Policy, pr.QuotaOvershoot, pr.QuotaOvershootResource)
		}
		if pr.FailedByReason[ReasonQuota] == 0 {
			t.Errorf("%s: no pod of the capped tenant was turned away by its quota: %v", pr.Policy, pr.FailedByReason)
		}
		if pr.FailedByReason[ReasonOther] != 0 {
			t.Errorf("%s: failures of unknown cause: %v", pr.Policy, pr.FailedByReason)
		}
		if pr.MultiDevicePods == 0 || pr.AlignedPods > pr.MultiDevicePods {
			t.Errorf("%s: %d multi-device pods, %d aligned", pr.Policy, pr.MultiDevicePods, pr.AlignedPods)
		}
		for j, s := range pr.Samples {
			if s.AllocatedGPUs < 0 || s.AllocatedGPUs > float64(w.ClusterGPUs) || s.FragmentedGPUs < 0 ||
				s.FragmentedGPUs > float64(w.ClusterGPUs)-s.AllocatedGPUs+1e-9 || s.PowerWatts <= 0 {
				t.Errorf("%s: sample %d out of range: %+v", pr.Policy, j, s)
			}
		}
		// The A30 node is the only T4-model one: the pods asking for T4
		// must be there or have failed.
		for id, pl := range pr.Placements {
			if pod := podOf(w, id); len(pod.GPUSpec) > 0 && pl != "" && !strings.HasPrefix(pl, "node-c/") {
				t.Errorf("%s: pod %s asks for a T4 but went to %s", pr.Policy, id, pl)
			}
		}
		t.Logf("%s: control plane %v, setup %v, wall %v, %.1f pods/s, latency p50 %v p99 %v, scheduled %d, failed %v, multi-GPU %d (aligned %d), final sample %+v",
			pr.Policy, pr.ControlPlaneStartup.Round(time.Millisecond), pr.Setup.Round(time.Millisecond), pr.Wall.Round(time.Millisecond),
			pr.PodsPerSecond, LatencyPercentile(pr.Latencies, 50), LatencyPercentile(pr.Latencies, 99), pr.Scheduled, pr.FailedByReason,
			pr.MultiDevicePods, pr.AlignedPods, pr.Samples[len(pr.Samples)-1])
	}
	first, again := res.Policies[1].Placements, res.Policies[2].Placements
	if !maps.Equal(first, again) {
		for _, id := range slices.Sorted(maps.Keys(first)) {
			if first[id] != again[id] {
				t.Errorf("pod %s: placed at %q, then at %q", id, first[id], again[id])
			}
		}
	}

	// Resuming reuses every completed policy's checkpoint: no control
	// plane is started (there is no binary to start one with).
	resumed, err := Run(ctx, Options{BinDir: t.TempDir(), Workload: w, Policies: policies, WorkDir: t.TempDir(),
		CheckpointDir: checkpoints, CodeVersion: "test", Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resumed.Resumed, []string{"default", "hadron", "hadron"}) {
		t.Errorf("resumed %v", resumed.Resumed)
	}
	for i := range res.Policies {
		if !maps.Equal(resumed.Policies[i].Placements, res.Policies[i].Placements) || resumed.Policies[i].Wall != res.Policies[i].Wall {
			t.Errorf("policy %d: the resumed result differs from the checkpointed one", i)
		}
	}
}

func podOf(w *trace.Workload, id string) trace.Pod {
	for _, ev := range w.Events {
		if ev.ID == id {
			return ev.Pod
		}
	}
	return trace.Pod{}
}
