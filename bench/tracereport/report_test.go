package tracereport

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadron-sched/hadron/bench/replay"
)

// rampGPUs is the cluster size of the hand-built results.
const rampGPUs = 200

// ramp is a policy whose allocation follows the arrived demand up to
// ceiling (a share of the cluster's GPUs), with power growing with the
// allocation from idle watts at wattsPerGPU.
func ramp(name string, maxDemand, ceiling, idle, wattsPerGPU float64) replay.PolicyResult {
	const gpus = rampGPUs
	pr := replay.PolicyResult{Policy: name, Placements: map[string]string{}, FailedByReason: map[string]int{}}
	const steps = 130
	for i := 1; i <= steps; i++ {
		d := maxDemand * float64(i) / steps
		alloc := min(d, ceiling) * float64(gpus)
		pr.Samples = append(pr.Samples, replay.Sample{
			ArrivedGPUDemand: d,
			AllocatedGPUs:    alloc,
			FragmentedGPUs:   0.1 * (float64(gpus) - alloc),
			PowerWatts:       idle + wattsPerGPU*alloc,
		})
		pr.Latencies = append(pr.Latencies, time.Duration(i)*time.Millisecond)
	}
	pr.Scheduled = steps
	pr.Wall = 10 * time.Second
	pr.PodsPerSecond = steps / pr.Wall.Seconds()
	return pr
}

func sampleResult() *replay.Result {
	def := ramp("default", 1.1, 0.9, 10000, 200)
	def.Failed = 7
	def.FailedByReason = map[string]int{"capacity": 5, "quota": 2}
	def.MultiDevicePods, def.AlignedPods = 10, 6
	hadron := ramp("hadron", 1.3, 0.95, 10000, 180)
	hadron.MultiDevicePods, hadron.AlignedPods, hadron.UnalignablePods = 10, 10, 3
	hadron.PodsPerSecond = 6.5
	hadron.ControlPlaneStartup, hadron.Setup = 21*time.Second, 3*time.Second
	fgd := ramp("fgd", 1.3, 0.94, 10000, 200)
	return &replay.Result{
		Command:     "hadron bench trace --quick",
		Seed:        42,
		Commit:      "abc1234",
		Machine:     "2 CPUs, linux/amd64, 2026-01-01",
		TraceFiles:  []string{"nodes.csv", "pods.csv"},
		Mode:        "demand",
		Notes:       []string{"GPU model T4 mapped to a two-socket machine"},
		ClusterGPUs: rampGPUs,
		Nodes:       40,
		Policies:    []replay.PolicyResult{def, hadron, fgd},
		Started:     time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC),
		Finished:    time.Date(2026, 1, 1, 10, 3, 0, 0, time.UTC),
	}
}

func markdown(t *testing.T, in Input) string {
	t.Helper()
	var b bytes.Buffer
	Markdown(&b, in, []string{AllocationPlot, PowerPlot, FragmentationPlot, LatencyPlot})
	return b.String()
}

func TestMarkdown(t *testing.T) {
	md := markdown(t, Input{
		Result:    sampleResult(),
		Malformed: []string{"pods.csv:17: num_gpu: not a number"},
		Policies:  []replay.Policy{{Name: "hadron", Description: "all of hadron's scorers"}},
	})
	for _, want := range []string{
		"Command: `hadron bench trace --quick`",
		"Seed: 42",
		"Commit: `abc1234`",
		"Machine: 2 CPUs, linux/amd64, 2026-01-01",
		"Trace files: `nodes.csv`, `pods.csv`",
		"Mode: demand",
		"- **hadron**: all of hadron's scorers",
		"- GPU model T4 mapped to a two-socket machine",
		// Allocation: every level, a dash where the replay stopped short.
		"| hadron | 50.0% | 90.0% | 95.0% | 95.0% | 10.0 | 1.0 GPUs (10.0%) |",
		"| default | 50.0% | 89.8% | 90.0% | — | 20.0 | 2.0 GPUs (10.0%) |", // interpolated across the ceiling
		// Power relative to fgd: hadron draws 180 W per allocated GPU
		// against fgd's 200 W.
		"| fgd | 30.0 kW | 46.0 kW | 47.6 kW | 47.6 kW |",
		"| hadron | 28.0 kW (-6.7%) |",
		// Placement.
		"| default | 130 | 7 | capacity 5, quota 2 | 60.0% (6 of 10) | 0.000 |",
		"| hadron | 130 | 0 | — | 100.0% (10 of 10) [3 larger than a NUMA node] | 0.000 |",
		// Speed relative to default.
		"| hadron | 6.5 | 0.50× | 65.0 ms | 117.0 ms | 129.0 ms | 10s | 21s + 3s |",
		// Published figures, quoted.
		"| BestFit | GPU allocation at 100% arrived demand | 92.9% |",
		"13–16% lower",
		"48.3% / 86.8% / 92.5%",
		// Reading, generated.
		"At 100% arrived GPU demand, **hadron** allocates the most GPUs: 95.0% of the cluster's; then fgd 94.0%, default 90.0%.",
		"hadron allocates 95.0% at 100% arrived demand, 0.2 points below the FGD paper's FGD figure (95.2%).",
		"At 100% arrived demand, hadron's modelled power is 7.1% less than fgd's (44.2 kW against 47.6 kW).",
		"At 100% arrived demand, hadron's modelled power is 3.9% less than default's (44.2 kW against 46.0 kW).",
		"so no conclusion is drawn",
		"Multi-GPU pods placed on one NUMA node (of those one NUMA node could hold): default 60.0%, hadron 100.0%.",
		"100.0% (10 of 10) [3 larger than a NUMA node]",
		"overshoot 0 everywhere",
		"hadron replays at 0.50× the default profile's pods/s",
		// Malformed rows.
		"- `pods.csv:17: num_gpu: not a number`",
		"![GPU allocation against arrived demand](allocation.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "WARNING") {
		t.Errorf("report warns without reason:\n%s", md)
	}
}

func TestMarkdownResumedAndConcurrency(t *testing.T) {
	res := sampleResult()
	if md := markdown(t, Input{Result: res}); strings.Contains(md, "Resumed:") || !strings.Contains(md, "one after the other") {
		t.Errorf("a plain run reads as resumed or concurrent:\n%s", md)
	}
	res.Resumed = []string{"default", "hadron"}
	res.Concurrency = 2
	md := markdown(t, Input{Result: res})
	for _, want := range []string{
		"Resumed: the results of `default`, `hadron` were measured by an earlier, interrupted run",
		"2 policies at a time",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestMarkdownQuotaOvershoot(t *testing.T) {
	res := sampleResult()
	res.Policies[1].QuotaOvershoot = 2
	res.Policies[1].QuotaOvershootResource = "gpu"
	md := markdown(t, Input{Result: res})
	for _, want := range []string{
		"**WARNING: QUOTA OVERSHOOT.** hadron",
		"| **2.000 gpu OVERSHOOT** |",
		"**WARNING: quota overshoot in hadron**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// referenceRun is the default profile on the reference's setup, landing
// at the given allocations at 50, 90 and 100 % arrived demand.
func referenceRun(a50, a90, a100 float64) *replay.Result {
	const gpus = 6212
	return &replay.Result{
		Mode:        "demand",
		TraceFiles:  []string{"traces/openb_node_list_gpu_node.csv", "traces/openb_pod_list_default.csv"},
		Nodes:       1213,
		ClusterGPUs: gpus,
		Policies: []replay.PolicyResult{{
			Policy: "default",
			Samples: []replay.Sample{
				{ArrivedGPUDemand: 0.5, AllocatedGPUs: a50 * gpus},
				{ArrivedGPUDemand: 0.9, AllocatedGPUs: a90 * gpus},
				{ArrivedGPUDemand: 1.0, AllocatedGPUs: a100 * gpus},
			},
		}},
	}
}

func TestReadingReference(t *testing.T) {
	scaled := referenceRun(0.483, 0.868, 0.925)
	scaled.Nodes, scaled.ClusterGPUs = 40, 200
	for _, tc := range []struct {
		name string
		res  *replay.Result
		want string
	}{
		{"reproduced", referenceRun(0.48, 0.87, 0.93), "the harness reproduces it"},
		{"far from the reference", referenceRun(0.48, 0.80, 0.85), "**WARNING: the default profile lands more than 2 points from the measured reference"},
		{"a different setup", scaled, "this run differs, so no conclusion is drawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := markdown(t, Input{Result: tc.res})
			if !strings.Contains(md, tc.want) {
				t.Errorf("report lacks %q:\n%s", tc.want, md)
			}
		})
	}
}

func TestReadingPower(t *testing.T) {
	res := sampleResult()
	power := ramp("power", 1.3, 0.94, 8000, 170)
	res.Policies = append(res.Policies, power)
	md := markdown(t, Input{Result: res})
	// fgd at 100%: 10,000 + 200*188 = 47,600 W; power: 8,000 + 170*188 =
	// 39,960 W, 16.1% less.
	// Both allocate the same at 100%, so per allocated GPU is the same
	// saving.
	for _, want := range []string{
		"At 100% arrived demand, power's modelled power is 16.1% less than fgd's (40.0 kW against 47.6 kW). Per allocated GPU (as a share of the cluster): 16.1% less. PWR+FGD publishes 13–16% less than FGD.",
		// hadron allocates more than default at 100%: per allocated GPU
		// its saving is larger than in total.
		"At 100% arrived demand, hadron's modelled power is 3.9% less than default's (44.2 kW against 46.0 kW). Per allocated GPU (as a share of the cluster): 9.0% less.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestReadingDepartures(t *testing.T) {
	res := sampleResult()
	res.Policies = append(res.Policies, ramp("power", 1.3, 0.94, 8000, 170))
	for _, tc := range []struct {
		mode       string
		want, lack []string
	}{
		{mode: "demand", want: []string{"the FGD paper's FGD figure", "PWR+FGD publishes", "Default profile: "}, lack: []string{departuresNote}},
		{mode: "departures", want: []string{departuresNote}, lack: []string{"the FGD paper's FGD figure", "PWR+FGD publishes", "Default profile: "}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			res.Mode = tc.mode
			md := markdown(t, Input{Result: res})
			for _, want := range tc.want {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			for _, lack := range tc.lack {
				if strings.Contains(md, lack) {
					t.Errorf("report has %q", lack)
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *replay.Result
	}{
		{"scaled-down run", sampleResult()},
		// The reference setup also marks the published figures.
		{"reference setup", referenceRun(0.48, 0.87, 0.93)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			files, err := Write(dir, Input{Result: tc.res})
			if err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(files.Report)
			if err != nil {
				t.Fatal(err)
			}
			if len(files.Plots) != 4 {
				t.Fatalf("plots = %v, want four", files.Plots)
			}
			for _, p := range files.Plots {
				checkPNG(t, p)
				if !strings.Contains(string(md), "]("+filepath.Base(p)+")") {
					t.Errorf("report does not link %s", filepath.Base(p))
				}
			}
		})
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width < 400 || cfg.Height < 200 {
		t.Errorf("%s is %dx%d, want a readable figure", path, cfg.Width, cfg.Height)
	}
}

func TestWriteWithoutResult(t *testing.T) {
	if _, err := Write(t.TempDir(), Input{}); err == nil {
		t.Error("Write without a result succeeded")
	}
}
