// Package metrics holds the Prometheus metrics of hadron's kubelet plugin:
// the drivers' prepare and unprepare latencies, device counts and errors,
// the GPUs' utilisation as the idle reclaimer reads it, and what the
// reclaimer freed. They are component-base metrics registered once in the
// legacy registry, which the plugin serves on its metrics endpoint
// (docs/metrics.md lists them).
package metrics

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const namespace = "hadron"

// Results of a prepare or unprepare.
const (
	ResultSuccess = "success"
	ResultError   = "error"
)

// Device states counted by Devices.
const (
	StatePublished = "published"
	StatePrepared  = "prepared"
	StateUnhealthy = "unhealthy"
)

// Operations counted by Errors.
const (
	OperationPrepare    = "prepare"
	OperationUnprepare  = "unprepare"
	OperationPublish    = "publish"
	OperationHealth     = "health"
	OperationBackground = "background"
)

// latencyBuckets span half a millisecond (a prepared claim found in the
// checkpoint) to about 16 s (MIG partitions created on a busy GPU).
var latencyBuckets = metrics.ExponentialBuckets(0.0005, 2, 16)

var (
	// PrepareDuration is how long preparing one claim took.
	PrepareDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      "driver",
		Name:           "prepare_duration_seconds",
		Help:           "Time to prepare one ResourceClaim on the node, by driver, device type and result.",
		Buckets:        latencyBuckets,
		StabilityLevel: metrics.ALPHA,
	}, []string{"driver", "device_type", "result"})

	// UnprepareDuration is how long unpreparing one claim took.
	UnprepareDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      "driver",
		Name:           "unprepare_duration_seconds",
		Help:           "Time to unprepare one ResourceClaim on the node, by driver, device type and result.",
		Buckets:        latencyBuckets,
		StabilityLevel: metrics.ALPHA,
	}, []string{"driver", "device_type", "result"})

	// Devices counts the node's devices by state.
	Devices = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      namespace,
		Subsystem:      "driver",
		Name:           "devices",
		Help:           "Devices of the node by driver, device type and state (published, prepared, unhealthy).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node", "driver", "device_type", "state"})

	// Errors counts failed driver operations.
	Errors = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "driver",
		Name:           "errors_total",
		Help:           "Failed driver operations by driver, operation and reason.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"driver", "operation", "reason"})

	// GPUUtilization is each GPU's utilisation as last read through NVML.
	GPUUtilization = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Namespace:      namespace,
		Subsystem:      "driver",
		Name:           "gpu_utilization_ratio",
		Help:           "GPU utilisation (0-1) last read through NVML for a workspace's GPUs, by node and GPU UUID.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node", "gpu"})
)

var (
	// ReclaimedWorkspaces counts workspaces stopped for being idle.
	ReclaimedWorkspaces = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "reclaim",
		Name:           "workspaces_total",
		Help:           "Workspace pods deleted for being idle longer than their timeout, by node and activity signal.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node", "signal"})

	// ReclaimedGPUs counts the GPUs those workspaces held.
	ReclaimedGPUs = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "reclaim",
		Name:           "gpus_total",
		Help:           "GPUs (whole, MIG partitions and shares counted by their physical GPU) held by reclaimed workspaces, by node.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node"})

	// IdleGPUSeconds is the GPU time reclaimed workspaces spent idle.
	IdleGPUSeconds = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "reclaim",
		Name:           "idle_gpu_seconds_total",
		Help:           "GPU-seconds that reclaimed workspaces held their GPUs while idle (idle duration times GPUs), by node.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node"})

	// IdleEnergy is the energy those idle GPUs drew at their idle power.
	IdleEnergy = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "reclaim",
		Name:           "idle_energy_joules_total",
		Help:           "Energy the GPUs of reclaimed workspaces drew while idle, from each GPU's idlePowerWatts attribute, by node.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node"})

	// ReclaimErrors counts what kept the reclaimer from judging or
	// stopping a workspace.
	ReclaimErrors = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      "reclaim",
		Name:           "errors_total",
		Help:           "Problems of the idle reclaimer by node and kind (annotation, utilization, mark_active, delete, event, service).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"node", "kind"})
)

var registerOnce sync.Once

// Register adds the metrics to the legacy registry. It is safe to call
// many times (every driver calls it when it starts); until it is called
// the metrics record nothing.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(
			PrepareDuration, UnprepareDuration, Devices, Errors, GPUUtilization,
			ReclaimedWorkspaces, ReclaimedGPUs, IdleGPUSeconds, IdleEnergy, ReclaimErrors,
		)
	})
}
