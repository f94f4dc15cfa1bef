package trace

import "github.com/hadron-sched/hadron/pkg/simhw"

// Node is one row of a node list
// (sn,cpu_milli,memory_mib,gpu,model).
type Node struct {
	Name      string
	CPUMilli  int64
	MemoryMiB int64
	GPUs      int
	// Model is the trace's GPU model (P100, T4, V100M16, V100M32, A10,
	// G2, G3); empty for CPU-only nodes.
	Model string
	// Line is the 1-based line of the row in its file.
	Line int
}

// Pod is one row of a pod list
// (name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,qos,pod_phase,
// creation_time,deletion_time,scheduled_time]).
type Pod struct {
	Name      string
	CPUMilli  int64
	MemoryMiB int64
	NumGPU    int
	// GPUMilli is the share of one GPU when NumGPU is 1 (1000 = whole);
	// multi-GPU pods take whole GPUs.
	GPUMilli int64
	// GPUSpec lists the GPU models the pod accepts (empty: any).
	GPUSpec []string
	QoS     string
	Phase   string
	// CreationTime and DeletionTime are trace seconds; HasTimes is false
	// for files without the time columns.
	CreationTime int64
	DeletionTime int64
	HasTimes     bool
	// ScheduledTime is when the trace's scheduler bound the pod; Scheduled
	// is false when the field is empty (pods it never placed) or absent.
	ScheduledTime int64
	Scheduled     bool
	Line          int
}

// GPUDemand is the pod's GPU demand in whole GPUs (0.46 for a 460
// milli-GPU share, 4 for four whole GPUs).
func (p Pod) GPUDemand() float64 {
	if p.NumGPU == 0 {
		return 0
	}
	if p.NumGPU == 1 && p.GPUMilli > 0 && p.GPUMilli < 1000 {
		return float64(p.GPUMilli) / 1000
	}
	return float64(p.NumGPU)
}

// ClusterNode is a trace node built as a simulated node.
type ClusterNode struct {
	Trace Node
	// Machine is the synthesised hardware: GPU model and power, sockets,
	// NUMA nodes, CPU packages and NICs (nil GPUs for CPU-only nodes).
	Machine *simhw.Machine
	Labels  map[string]string
}

// Tenant is a synthetic tenant: its namespace and quota labels
// (pkg/quota's quota.hadron.dev/... keys).
type Tenant struct {
	Name      string
	Namespace string
	Quota     map[string]string
}

// EventKind says whether an event submits or removes a pod.
type EventKind int

const (
	// Arrival submits a pod.
	Arrival EventKind = iota
	// Departure deletes a pod submitted by an earlier Arrival (if it was
	// placed).
	Departure
)

// Event is one step of a replay, applied strictly in order.
type Event struct {
	Kind EventKind
	// Pod is the trace pod; ID is unique within the workload (a trace pod
	// sampled twice gets two IDs) and names the Kubernetes pod.
	Pod    Pod
	ID     string
	Tenant string
	// Time is the trace time of the event (departure mode), or the
	// arrival index (demand mode).
	Time int64
	// ArrivedGPUDemand is the cumulative GPU demand of all arrivals up to
	// and including this one, as a share of the cluster's GPUs (1.0 =
	// 100 %).
	ArrivedGPUDemand float64
}

// Workload is everything a replay needs, fully determined by the trace
// files, the options and the seed.
type Workload struct {
	Nodes   []ClusterNode
	Tenants []Tenant
	Events  []Event
	// ClusterGPUs is the number of GPUs in Nodes.
	ClusterGPUs int
	// Notes describe, for the report, every synthesis choice (machine
	// mapping, NUMA layout, NIC pairing, tenants, quotas, sampling).
	Notes []string
}
