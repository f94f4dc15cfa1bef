// Package metrics holds the Prometheus metrics of hadron's scheduler
// plugins. They are component-base metrics registered once in the legacy
// registry, which kube-scheduler serves on its /metrics endpoint
// (docs/metrics.md lists them).
package metrics

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const (
	namespace = "hadron"
	subsystem = "scheduler"
)

// Values of the NUMA placement result label.
const (
	Aligned   = "aligned"
	Unaligned = "unaligned"
)

var (
	// QuotaRejections counts pods turned away by a tenant's quota.
	QuotaRejections = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "quota_rejections_total",
		Help:           "Scheduling attempts TenantQuota turned away, by tenant and the resource whose limit they would exceed.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"tenant", "resource"})

	// MarginalPower is the modelled power the chosen node's devices add.
	MarginalPower = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "placement_marginal_power_watts",
		Help:           "Power (W) that IdlePower's model says a pod's devices add to the node the pod was reserved on.",
		Buckets:        []float64{0, 10, 25, 50, 100, 200, 400, 700, 1000, 2000, 4000, 8000},
		StabilityLevel: metrics.ALPHA,
	})

	// NUMAPlacements counts reserved pods by whether their modelled
	// devices share one NUMA node.
	NUMAPlacements = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "numa_placements_total",
		Help:           "Pods reserved on a node, by whether NUMAAffinity's model puts all their NUMA-attached devices on one NUMA node (aligned) or not (unaligned).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	// AlignmentRejections counts nodes DeviceAlignment filtered out.
	AlignmentRejections = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "alignment_rejections_total",
		Help:           "Nodes DeviceAlignment filtered out for a pod because its claims' matchAttribute constraints cannot be met there.",
		StabilityLevel: metrics.ALPHA,
	})
)

var registerOnce sync.Once

// Register adds the metrics, and the tenant usage collector, to the legacy
// registry. Every plugin calls it when built; only the first call
// registers, so tests that build many plugins do not collide.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(QuotaRejections, MarginalPower, NUMAPlacements, AlignmentRejections)
		legacyregistry.CustomMustRegister(tenantUsage)
	})
}
