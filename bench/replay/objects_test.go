package replay

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

func TestClaimObject(t *testing.T) {
	models := modelSelector{"T4": {"NVIDIA A30-PCIE-24GB"}, "V100M32": {"NVIDIA A100-PCIE-40GB"}}
	for _, tc := range []struct {
		name     string
		pod      trace.Pod
		count    int64
		milli    int64
		selector string
	}{
		{name: "CPU only", pod: trace.Pod{CPUMilli: 1000}},
		{name: "share", pod: trace.Pod{NumGPU: 1, GPUMilli: 460}, count: 1, milli: 460},
		{name: "whole GPU", pod: trace.Pod{NumGPU: 1, GPUMilli: 1000}, count: 1, milli: 1000},
		{name: "whole GPU without milli", pod: trace.Pod{NumGPU: 1}, count: 1, milli: 1000},
		{name: "four GPUs", pod: trace.Pod{NumGPU: 4, GPUMilli: 1000}, count: 4, milli: 1000},
		{name: "model constraint", pod: trace.Pod{NumGPU: 1, GPUMilli: 250, GPUSpec: []string{"V100M32", "T4"}}, count: 1, milli: 250,
			selector: `device.attributes["gpu.hadron.dev"].productName in ["NVIDIA A100-PCIE-40GB", "NVIDIA A30-PCIE-24GB"]`},
		{name: "model not in the cluster", pod: trace.Pod{NumGPU: 1, GPUMilli: 250, GPUSpec: []string{"P100"}}, count: 1, milli: 250, selector: "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := trace.Event{Kind: trace.Arrival, ID: "p1", Pod: tc.pod}
			claim := claimObject(ev, "ns", models)
			pod := podObject(ev, "ns", "sched", claim)
			if pod.Spec.SchedulerName != "sched" || pod.Name != "p1" || pod.Namespace != "ns" {
				t.Errorf("pod %s/%s for %s", pod.Namespace, pod.Name, pod.Spec.SchedulerName)
			}
			if tc.count == 0 {
				if claim != nil || len(pod.Spec.ResourceClaims) != 0 {
					t.Fatalf("CPU-only pod got a claim")
				}
				return
			}
			if claim == nil || claim.Name != "p1" || len(pod.Spec.ResourceClaims) != 1 || *pod.Spec.ResourceClaims[0].ResourceClaimName != "p1" {
				t.Fatalf("claim %v, pod claims %v", claim, pod.Spec.ResourceClaims)
			}
			req := claim.Spec.Devices.Requests[0].Exactly
			if req.DeviceClassName != sharedGPUClass || req.Count != tc.count {
				t.Errorf("class %s count %d, want %s and %d", req.DeviceClassName, req.Count, sharedGPUClass, tc.count)
			}
			if got := req.Capacity.Requests[attrs.GPUCompute]; got.Value() != tc.milli {
				t.Errorf("compute %s, want %d", got.String(), tc.milli)
			}
			var sel string
			if len(req.Selectors) == 1 {
				sel = req.Selectors[0].CEL.Expression
			}
			if sel != tc.selector {
				t.Errorf("selector %q, want %q", sel, tc.selector)
			}
		})
	}
}

// TestRenderedSlicesAreDeterministic renders the tiny cluster twice:
// slices, pools and the model mapping must come out the same, and every
// node's copy must name only that node.
func TestRenderedSlicesAreDeterministic(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	w := tinyWorkload(t)
	first, models, err := renderCluster(ctx, w, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	again, modelsAgain, err := renderCluster(ctx, w, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) || !reflect.DeepEqual(models, modelsAgain) {
		t.Fatal("two renderings of the same workload differ")
	}
	if got := models["T4"]; len(got) != 1 || !strings.Contains(got[0], "A30") {
		t.Errorf("T4 nodes publish %v, want the A30", got)
	}
	for i, n := range w.Nodes {
		gpus := 0
		for _, s := range first[i] {
			if *s.Spec.NodeName != n.Trace.Name || s.Spec.Pool.Name != n.Trace.Name || !strings.HasPrefix(s.Name, n.Trace.Name+"-") {
				t.Errorf("node %s: slice %s of node %s, pool %s", n.Trace.Name, s.Name, *s.Spec.NodeName, s.Spec.Pool.Name)
			}
			for _, d := range s.Spec.Devices {
				if s.Spec.Driver != attrs.GPUDriver {
					continue
				}
				gpus++
				c := d.Capacity[attrs.GPUCompute]
				if d.Attributes[attrs.GPUType].StringValue == nil || *d.Attributes[attrs.GPUType].StringValue != attrs.GPUTypeShared ||
					c.RequestPolicy == nil || c.RequestPolicy.ValidRange.Min.Value() != 1 || c.RequestPolicy.ValidRange.Step.Value() != 1 {
					t.Errorf("node %s: GPU %s is not shared in steps of 1 milli-GPU", n.Trace.Name, d.Name)
				}
			}
		}
		if gpus != n.Trace.GPUs {
			t.Errorf("node %s: %d GPUs published, trace has %d", n.Trace.Name, gpus, n.Trace.GPUs)
		}
	}
}

func TestPoliciesAreDeterministic(t *testing.T) {
	w := tinyWorkload(t)
	a, err := Policies(PolicySettings{Target: TargetWorkload(w)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Policies(PolicySettings{Target: TargetWorkload(w)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("policies differ between two calls")
	}
}

func TestTargetWorkload(t *testing.T) {
	w := &trace.Workload{Events: []trace.Event{
		{Kind: trace.Arrival, Pod: trace.Pod{NumGPU: 1, GPUMilli: 500, CPUMilli: 4000, MemoryMiB: 8192}},
		{Kind: trace.Arrival, Pod: trace.Pod{NumGPU: 1, GPUMilli: 500, CPUMilli: 12000, MemoryMiB: 2048}},
		{Kind: trace.Arrival, Pod: trace.Pod{NumGPU: 1, GPUMilli: 500, CPUMilli: 6000, MemoryMiB: 4096}},
		{Kind: trace.Departure, Pod: trace.Pod{NumGPU: 1, GPUMilli: 500, CPUMilli: 99000}},
		{Kind: trace.Arrival, Pod: trace.Pod{NumGPU: 2, GPUMilli: 1000, CPUMilli: 16000, MemoryMiB: 65536}},
		{Kind: trace.Arrival, Pod: trace.Pod{NumGPU: 1, GPUMilli: 1000}},
		{Kind: trace.Arrival, Pod: trace.Pod{CPUMilli: 100}},
	}}
	got := TargetWorkload(w)
	// The median CPU and memory of each kind's arrivals, each on its own
	// (departures do not count).
	want := "[{GPUs:0 GPUMilli:500 MIGComputeSlices:0 CPUMilli:6000 MemoryMiB:4096 Weight:3} {GPUs:1 GPUMilli:0 MIGComputeSlices:0 CPUMilli:0 MemoryMiB:0 Weight:1} {GPUs:2 GPUMilli:0 MIGComputeSlices:0 CPUMilli:16000 MemoryMiB:65536 Weight:1}]"
	if s := fmtValue(got); s != want {
		t.Errorf("target %s, want %s", s, want)
	}
	if TargetWorkload(&trace.Workload{}) != nil {
		t.Error("a workload without GPU pods has a target")
	}
}

func TestCheckWorkload(t *testing.T) {
	ok := tinyWorkload(t)
	if err := checkWorkload(ok); err != nil {
		t.Fatalf("tiny workload rejected: %v", err)
	}
	for name, mutate := range map[string]func(w *trace.Workload){
		"repeated node":      func(w *trace.Workload) { w.Nodes[1].Trace.Name = w.Nodes[0].Trace.Name },
		"unknown tenant":     func(w *trace.Workload) { w.Events[0].Tenant = "nobody" },
		"repeated pod":       func(w *trace.Workload) { w.Events[1].ID = w.Events[0].ID },
		"early departure":    func(w *trace.Workload) { w.Events[0].Kind = trace.Departure },
		"tenant without ns":  func(w *trace.Workload) { w.Tenants[0].Namespace = "" },
		"unknown event kind": func(w *trace.Workload) { w.Events[0].Kind = 7 },
	} {
		w := tinyWorkload(t)
		mutate(w)
		if err := checkWorkload(w); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func fmtValue(v any) string { return fmt.Sprintf("%+v", v) }
