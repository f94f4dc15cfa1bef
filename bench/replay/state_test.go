package replay

import (
	"fmt"
	"math"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/quota"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
)

// twoGPUNode is a node with two GPUs (30 W idle, 250 W max) on NUMA
// nodes 0 and 1, one CPU package (40-200 W) of 16 CPUs, used as given.
func twoGPUNode(name string, used0, used1, cpuRequested int64) *nodeState {
	return &nodeState{
		name: name, cpuMilli: 16000, requestedCPUMilli: cpuRequested,
		packages: 1, packageIdleW: 40, packageMaxWatts: 200,
		gpus: []gpuState{
			{device: "gpu-0", numa: 0, idleWatts: 30, maxWatts: 250, usedMilli: used0},
			{device: "gpu-1", numa: 1, idleWatts: 30, maxWatts: 250, usedMilli: used1},
		},
		gpuByDevice: map[string]int{"gpu-0": 0, "gpu-1": 1},
	}
}

func TestClusterMetrics(t *testing.T) {
	halfAndWhole := []fragmentation.TypicalRequest{{GPUs: 1, Weight: 1}, {GPUMilli: 500, Weight: 1}}
	for _, tc := range []struct {
		name   string
		nodes  []*nodeState
		target []fragmentation.TypicalRequest
		// allocated and fragmented in GPUs, power in watts.
		allocated, fragmented, power float64
	}{
		{name: "idle", nodes: []*nodeState{twoGPUNode("a", 0, 0, 0)}, target: halfAndWhole,
			allocated: 0, fragmented: 0, power: 30 + 30 + 40},
		// One whole GPU taken, 8 of 16 CPUs requested: the free GPU
		// serves both kinds of request.
		{name: "one whole GPU", nodes: []*nodeState{twoGPUNode("a", 1000, 0, 8000)}, target: halfAndWhole,
			allocated: 1, fragmented: 0, power: 250 + 30 + 40 + 160*0.5},
		// 700 milli on GPU 0: its 300 free are useless to whole GPUs and
		// to halves, weighted 1/2 each.
		{name: "share leaves a fragment", nodes: []*nodeState{twoGPUNode("a", 700, 0, 0)}, target: halfAndWhole,
			allocated: 0.7, fragmented: 0.3, power: 250 + 30 + 40},
		// Both GPUs partly used (600 and 600): no whole GPU left, so all
		// 800 free are fragmented for whole requests; no GPU has 500
		// free, so all of it for halves too.
		{name: "all fragmented", nodes: []*nodeState{twoGPUNode("a", 600, 600, 32000)}, target: halfAndWhole,
			allocated: 1.2, fragmented: 0.8, power: 250 + 250 + 200},
		{name: "two nodes add up", nodes: []*nodeState{twoGPUNode("a", 700, 0, 0), twoGPUNode("b", 1000, 1000, 16000)},
			target: halfAndWhole, allocated: 2.7, fragmented: 0.3, power: 250 + 30 + 40 + 250 + 250 + 200},
		{name: "CPU-only node", nodes: []*nodeState{{name: "c", cpuMilli: 8000, requestedCPUMilli: 2000, packages: 2, packageIdleW: 50, packageMaxWatts: 150}},
			target: halfAndWhole, allocated: 0, fragmented: 0, power: 2 * (50 + 100*0.25)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := allocatedGPUs(tc.nodes); math.Abs(got-tc.allocated) > 1e-9 {
				t.Errorf("allocated %v GPUs, want %v", got, tc.allocated)
			}
			got, err := fragmentedGPUs(tc.nodes, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.fragmented) > 1e-9 {
				t.Errorf("fragmented %v GPUs, want %v", got, tc.fragmented)
			}
			if got := powerWatts(tc.nodes); math.Abs(got-tc.power) > 1e-9 {
				t.Errorf("power %v W, want %v", got, tc.power)
			}
		})
	}
}

func TestFragmentationRejectsBadTarget(t *testing.T) {
	if _, err := fragmentedGPUs([]*nodeState{twoGPUNode("a", 0, 0, 0)}, []fragmentation.TypicalRequest{{GPUMilli: 1000, Weight: 1}}); err == nil {
		t.Error("a 1000 milli-GPU share was accepted as a typical request")
	}
}

func share(device string, milli int64) resourceapi.DeviceRequestAllocationResult {
	return resourceapi.DeviceRequestAllocationResult{Request: claimRequest, Driver: attrs.GPUDriver, Pool: "a", Device: device,
		ConsumedCapacity: map[resourceapi.QualifiedName]resource.Quantity{attrs.GPUCompute: *resource.NewQuantity(milli, resource.DecimalSI)}}
}

func TestPlacementApplyAndAlignment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []resourceapi.DeviceRequestAllocationResult
		gpus    map[int]int64
		aligned bool
		wantErr bool
	}{
		{name: "share", results: []resourceapi.DeviceRequestAllocationResult{share("gpu-1", 250)}, gpus: map[int]int64{1: 250}, aligned: true},
		{name: "two GPUs on two NUMA nodes", results: []resourceapi.DeviceRequestAllocationResult{share("gpu-0", 1000), share("gpu-1", 1000)},
			gpus: map[int]int64{0: 1000, 1: 1000}, aligned: false},
		{name: "dedicated allocation takes the whole GPU", results: []resourceapi.DeviceRequestAllocationResult{{Driver: attrs.GPUDriver, Pool: "a", Device: "gpu-0"}},
			gpus: map[int]int64{0: 1000}, aligned: true},
		{name: "unknown device", results: []resourceapi.DeviceRequestAllocationResult{share("gpu-7", 100)}, wantErr: true},
		{name: "other node's pool", results: []resourceapi.DeviceRequestAllocationResult{{Driver: attrs.GPUDriver, Pool: "b", Device: "gpu-0"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := twoGPUNode("a", 0, 0, 0)
			gpus, devices, err := gpuPlacement(ns, &resourceapi.AllocationResult{Devices: resourceapi.DeviceAllocationResult{Results: tc.results}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(gpus) != len(tc.gpus) || len(devices) != len(tc.results) {
				t.Fatalf("gpus %v devices %v, want %v", gpus, devices, tc.gpus)
			}
			for gi, m := range tc.gpus {
				if gpus[gi] != m {
					t.Errorf("GPU %d: %d milli, want %d", gi, gpus[gi], m)
				}
			}
			p := &placement{node: "a", cpu: 4000, gpus: gpus, devices: devices}
			if ns.aligned(p) != tc.aligned {
				t.Errorf("aligned %v, want %v", !tc.aligned, tc.aligned)
			}
			ns.apply(p, 1)
			ns.apply(p, 1)
			ns.apply(p, -1)
			if ns.requestedCPUMilli != 4000 {
				t.Errorf("requested CPU %d after add, add, remove; want 4000", ns.requestedCPUMilli)
			}
			for gi, m := range tc.gpus {
				if ns.gpus[gi].usedMilli != m {
					t.Errorf("GPU %d used %d after add, add, remove; want %d", gi, ns.gpus[gi].usedMilli, m)
				}
			}
		})
	}
}

func TestLedgerOvershoot(t *testing.T) {
	l := &ledger{limits: map[string]quota.Quota{"t": {Limits: quota.List{quota.GPUMilli: 1500}}}, used: map[string]quota.List{"t": {}}}
	l.add("t", quota.List{quota.GPUMilli: 1000}, 1)
	l.add("t", quota.List{quota.GPUMilli: 500}, 1)
	l.add("nobody", quota.List{quota.GPUMilli: 9000}, 1)
	if l.overshoot != 0 {
		t.Fatalf("overshoot %v at the limit", l.overshoot)
	}
	l.add("t", quota.List{quota.GPUMilli: 250}, 1)
	l.add("t", quota.List{quota.GPUMilli: 250}, -1)
	if l.overshoot != 250 || l.overshootResource != quota.GPUMilli {
		t.Errorf("overshoot %v %s, want 250 gpu-milli", l.overshoot, l.overshootResource)
	}
}

func TestClassifyFailure(t *testing.T) {
	for msg, want := range map[string]string{
		`tenant "capped": quota.hadron.dev/gpu-milli exceeded: used 1500, requested 500, limit 1500`:                                                                      ReasonQuota,
		`0/4 nodes are available: 2 Insufficient cpu, 2 cannot allocate all claims. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.`: ReasonCapacity,
		`0/1 nodes are available: 1 claim default/x: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0).`:   ReasonAlignment,
		`0/4 nodes are available: 4 node(s) had untolerated taint {x: y}.`:                                                                                                ReasonOther,
	} {
		if got := classifyFailure(msg); got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
}

func TestLatencyPercentile(t *testing.T) {
	lat := []time.Duration{5, 1, 4, 2, 3}
	for p, want := range map[float64]time.Duration{0: 1, 50: 3, 99: 5, 100: 5} {
		if got := LatencyPercentile(lat, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if LatencyPercentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

// The cached fragmentation follows the node's allocations and the target.
func TestFragmentationCache(t *testing.T) {
	whole := []fragmentation.TypicalRequest{{GPUs: 1, Weight: 1}}
	halves := []fragmentation.TypicalRequest{{GPUMilli: 500, Weight: 1}}
	n := twoGPUNode("a", 0, 0, 0)
	check := func(target []fragmentation.TypicalRequest, want float64) {
		t.Helper()
		got, err := fragmentedGPUs([]*nodeState{n}, target)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("fragmented %.3f GPUs, want %.3f", got, want)
		}
	}
	check(whole, 0)
	p := &placement{gpus: map[int]int64{0: 700}}
	n.apply(p, 1)
	check(whole, 0.3) // 300 milli left on GPU 0: no whole GPU fits there
	check(halves, 0.3)
	check(whole, 0.3)
	n.apply(p, -1)
	check(whole, 0)
	check(halves, 0)
}

// BenchmarkSampleFragmentation is the per-event fragmentation of a
// 1,200-node cluster of 8-GPU nodes where one node changes per event.
func BenchmarkSampleFragmentation(b *testing.B) {
	target := []fragmentation.TypicalRequest{{GPUs: 1, Weight: 5}, {GPUs: 2, Weight: 1}, {GPUs: 8, Weight: 1},
		{GPUMilli: 250, Weight: 3}, {GPUMilli: 500, Weight: 2}, {GPUMilli: 100, Weight: 1}}
	var nodes []*nodeState
	for i := range 1200 {
		n := &nodeState{name: fmt.Sprint(i), gpuByDevice: map[string]int{}}
		for g := range 8 {
			n.gpus = append(n.gpus, gpuState{device: fmt.Sprint(g), usedMilli: int64((i * g * 37) % 1000)})
		}
		nodes = append(nodes, n)
	}
	p := &placement{gpus: map[int]int64{0: 100}}
	b.ResetTimer()
	for i := range b.N {
		nodes[i%len(nodes)].apply(p, 1)
		if _, err := fragmentedGPUs(nodes, target); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGPUsPerNUMA(t *testing.T) {
	gpus := func(numas ...int) *nodeState {
		n := &nodeState{}
		for _, numa := range numas {
			n.gpus = append(n.gpus, gpuState{numa: numa})
		}
		return n
	}
	for _, tc := range []struct {
		name string
		node *nodeState
		want int
	}{
		{name: "no GPUs", node: gpus(), want: 0},
		{name: "one NUMA node", node: gpus(0, 0, 0), want: 3},
		{name: "split 4+4", node: gpus(0, 0, 0, 0, 1, 1, 1, 1), want: 4},
		{name: "uneven", node: gpus(0, 1, 1), want: 2},
		{name: "no NUMA node published", node: gpus(noNUMA, noNUMA), want: 0},
	} {
		if got := tc.node.gpusPerNUMA(); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
