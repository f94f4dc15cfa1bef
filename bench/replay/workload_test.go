package replay

import (
	"fmt"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// testMachine composes a small machine: sockets packages of one NUMA node
// each, gpusPerSocket GPUs of model on each.
func testMachine(t testing.TB, name, model string, sockets, gpusPerSocket int) *simhw.Machine {
	t.Helper()
	m := &simhw.Machine{
		Name: name,
		CPU: simhw.CPUTopology{Sockets: sockets, NUMANodesPerSocket: 1, CoresPerSocket: 8, ThreadsPerCore: 2,
			MemoryGiB: 64 * sockets, PackageIdleWatts: 40, PackageMaxWatts: 200},
	}
	for s := range sockets {
		for g := range gpusPerSocket {
			bus := 0x10 + 0x40*s + g
			m.GPUs = append(m.GPUs, simhw.GPU{
				Model: model, PCIBusID: fmt.Sprintf("0000:%02x:00.0", bus), NUMANode: s,
				PCIeRoot: fmt.Sprintf("pci0000:%02x", 0x40*s), IdlePowerWatts: 30, MaxPowerWatts: 250,
			})
		}
	}
	raw, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := simhw.Parse(raw)
	if err != nil {
		t.Fatalf("machine %s: %v", name, err)
	}
	return parsed
}

// tinyWorkload is four nodes (two with four A100s over two NUMA nodes, one
// with two A30s, one without GPUs) and 40 arrivals with departures: shares,
// whole and multi-GPU pods, CPU-only pods, a GPU model constraint, and a
// tenant whose quota of 1500 milli-GPU turns pods away.
func tinyWorkload(t testing.TB) *trace.Workload {
	t.Helper()
	a100 := testMachine(t, "quad-a100", "a100-pcie-40gb", 2, 2)
	a30 := testMachine(t, "duo-a30", "a30-pcie-24gb", 1, 2)
	cpuOnly := testMachine(t, "cpu-only", "", 2, 0)
	w := &trace.Workload{
		Nodes: []trace.ClusterNode{
			{Trace: trace.Node{Name: "node-a", CPUMilli: 32000, MemoryMiB: 131072, GPUs: 4, Model: "V100M32"}, Machine: a100},
			{Trace: trace.Node{Name: "node-b", CPUMilli: 32000, MemoryMiB: 131072, GPUs: 4, Model: "V100M32"}, Machine: a100},
			{Trace: trace.Node{Name: "node-c", CPUMilli: 16000, MemoryMiB: 65536, GPUs: 2, Model: "T4"}, Machine: a30},
			{Trace: trace.Node{Name: "node-d", CPUMilli: 32000, MemoryMiB: 131072}, Machine: cpuOnly},
		},
		Tenants: []trace.Tenant{
			{Name: "open", Namespace: "tenant-open"},
			{Name: "capped", Namespace: "tenant-capped", Quota: map[string]string{"quota.hadron.dev/gpu-milli": "1500"}},
		},
		ClusterGPUs: 10,
	}
	pods := []trace.Pod{
		{CPUMilli: 4000, MemoryMiB: 8192, NumGPU: 1, GPUMilli: 500},
		{CPUMilli: 8000, MemoryMiB: 16384, NumGPU: 2, GPUMilli: 1000},
		{CPUMilli: 2000, MemoryMiB: 4096},
		{CPUMilli: 4000, MemoryMiB: 8192, NumGPU: 1, GPUMilli: 250},
		{CPUMilli: 4000, MemoryMiB: 8192, NumGPU: 1, GPUMilli: 1000},
		{CPUMilli: 2000, MemoryMiB: 4096, NumGPU: 1, GPUMilli: 460, GPUSpec: []string{"T4"}},
		{CPUMilli: 12000, MemoryMiB: 32768, NumGPU: 4, GPUMilli: 1000},
		{CPUMilli: 1000, MemoryMiB: 2048, NumGPU: 1, GPUMilli: 800},
	}
	var demand float64
	n := 0
	for i := range 40 {
		p := pods[i%len(pods)]
		p.Name = fmt.Sprintf("pod-%02d", i)
		tenant := "open"
		if i%5 == 3 {
			tenant = "capped"
		}
		id := fmt.Sprintf("p%02d", i)
		demand += p.GPUDemand() / float64(w.ClusterGPUs)
		w.Events = append(w.Events, trace.Event{Kind: trace.Arrival, Pod: p, ID: id, Tenant: tenant, Time: int64(n), ArrivedGPUDemand: demand})
		n++
		// Every third pod leaves again four arrivals later.
		if i >= 4 && (i-4)%3 == 0 {
			old := w.Events[0]
			for _, ev := range w.Events {
				if ev.Kind == trace.Arrival && ev.ID == fmt.Sprintf("p%02d", i-4) {
					old = ev
				}
			}
			w.Events = append(w.Events, trace.Event{Kind: trace.Departure, Pod: old.Pod, ID: old.ID, Tenant: old.Tenant, Time: int64(n), ArrivedGPUDemand: demand})
			n++
		}
	}
	return w
}
