// Package replay replays a trace workload (bench/trace) through a real
// kube-scheduler on the local control plane, once per scheduling policy,
// and measures the placements.
package replay

import (
	"time"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
)

// Policy is one scheduler configuration under comparison.
type Policy struct {
	// Name is the short name used in tables and plots ("default",
	// "hadron", "best-fit", "fgd", "power").
	Name string
	// Description says in one line what the policy scores.
	Description string
	// SchedulerConfig is the KubeSchedulerConfiguration (YAML) the
	// scheduler runs with; pods name its single profile.
	SchedulerConfig []byte
	// ProfileName is the schedulerName pods use.
	ProfileName string
	// PercentageOfNodesToScore is the scheduler's
	// percentageOfNodesToScore (PolicySettings).
	PercentageOfNodesToScore int32
}

// Sample is the cluster state after one arrival.
type Sample struct {
	// ArrivedGPUDemand is the cumulative arrived GPU demand as a share of
	// the cluster's GPUs.
	ArrivedGPUDemand float64
	// AllocatedGPUs is the GPU capacity allocated (shares count by their
	// milli value), in GPUs.
	AllocatedGPUs float64
	// FragmentedGPUs is the free GPU capacity that the target workload
	// cannot use (FGD's fragmentation measure), in GPUs.
	FragmentedGPUs float64
	// PowerWatts is the modelled cluster power (GPUs plus CPU packages).
	PowerWatts float64
}

// PolicyResult is what one policy's replay measured.
type PolicyResult struct {
	Policy string
	// Samples has one entry per arrival, in order.
	Samples []Sample
	// Placements maps pod ID to "node/device,device,..." (empty: the pod
	// failed); used to check determinism.
	Placements map[string]string
	Scheduled  int
	Failed     int
	// FailedByReason counts failures by cause (quota, capacity, ...).
	FailedByReason map[string]int
	// MultiDevicePods and AlignedPods count placed pods with more than
	// one GPU that one NUMA node of the cluster could hold, and those
	// whose GPUs share one NUMA node.
	MultiDevicePods int
	AlignedPods     int
	// UnalignablePods counts placed pods with more GPUs than any NUMA
	// node of the cluster holds (not in MultiDevicePods).
	UnalignablePods int
	// QuotaOvershoot is the largest amount, over all tenants, resources
	// and moments, by which allocated usage exceeded a quota (must be 0).
	QuotaOvershoot float64
	// Latencies are per-pod times from creation to bound (or to the
	// unschedulable verdict).
	Latencies []time.Duration
	// Wall is the replay's duration; PodsPerSecond = arrivals / Wall.
	Wall          time.Duration
	PodsPerSecond float64
	// QuotaOvershootResource is the quota resource of QuotaOvershoot,
	// whose unit it is (empty when nothing overshot).
	QuotaOvershootResource string
	// ControlPlaneStartup is how long the policy's control plane took to
	// start; Setup how long creating nodes, slices, classes and tenants
	// took. Neither counts in Wall.
	ControlPlaneStartup time.Duration
	Setup               time.Duration
}

// Result is a whole comparison run.
type Result struct {
	Command     string
	Seed        int64
	Commit      string
	Machine     string
	TraceFiles  []string
	Mode        string
	Notes       []string
	ClusterGPUs int
	Nodes       int
	Policies    []PolicyResult
	// Concurrency is how many policies replayed at once.
	Concurrency int
	// Resumed names the policies whose results were reused from an
	// earlier, interrupted run's checkpoints.
	Resumed  []string
	Started  time.Time
	Finished time.Time
}

// Options configures Run.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and
	// hadron-scheduler.
	BinDir string
	// WorkDir holds the control planes' state; empty means a temporary
	// directory.
	WorkDir string
	// Workload is what is replayed, identically for every policy.
	Workload *trace.Workload
	// Policies each run on a fresh control plane, Concurrency at a time
	// in the order given.
	Policies []Policy
	// CheckpointDir, when set, receives each policy's result as soon as
	// it completes (policy-<i>-<name>.json), so that an interrupted run
	// loses only the policies still running.
	CheckpointDir string
	// Resume reuses the checkpoints in CheckpointDir of policies that
	// completed under the same workload, scheduler configuration and
	// CodeVersion, instead of replaying them again.
	Resume bool
	// CodeVersion names the code under test (a commit) in checkpoints.
	CodeVersion string
	// Concurrency is how many policies replay at once (each still one
	// event at a time, so placements do not change); zero means one.
	// More than one shortens a run on a machine with cores to spare, at
	// the price of timings taken on a busier machine.
	Concurrency int
	// Progress, when set, is called after every event of every policy.
	Progress func(policy string, done, total int)
	// Target is the target workload of the fragmentation measure; nil
	// means TargetWorkload(Workload).
	Target []fragmentation.TypicalRequest
	// PodTimeout bounds the wait for one pod's verdict; zero means 2
	// minutes.
	PodTimeout time.Duration
}
