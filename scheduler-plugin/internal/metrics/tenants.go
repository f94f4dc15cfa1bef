package metrics

import (
	"sync"

	"k8s.io/component-base/metrics"
)

// TenantUsage is one tenant's usage of one quota resource.
type TenantUsage struct {
	Tenant, Resource string
	// Used counts allocated claims and reservations in flight; Limit is
	// the quota label's value. Both are in the resource's unit (bytes for
	// GPU memory, counts otherwise).
	Used  float64
	Limit float64
	// Limited says whether the tenant has a limit on the resource.
	Limited bool
}

var (
	usedDesc = metrics.NewDesc("hadron_scheduler_tenant_quota_used",
		"Quota usage per tenant and resource: allocated claims plus reservations in flight, in the resource's unit (bytes for gpu-memory, counts otherwise).",
		[]string{"tenant", "resource"}, nil, metrics.ALPHA, "")
	limitDesc = metrics.NewDesc("hadron_scheduler_tenant_quota_limit",
		"Quota limit per tenant and resource from the Tenant's quota labels, in the resource's unit.",
		[]string{"tenant", "resource"}, nil, metrics.ALPHA, "")
)

// tenantUsageCollector reads the tenants' usage when scraped, so the
// gauges are never stale: usage drops the moment a claim is released,
// with no event to update a gauge from.
type tenantUsageCollector struct {
	metrics.BaseStableCollector

	mu     sync.Mutex
	source func() []TenantUsage
	// setting counts SetTenantUsageSource calls, so that an old unset
	// leaves a newer source alone.
	setting uint64
}

var tenantUsage = &tenantUsageCollector{}

// SetTenantUsageSource makes source the one the usage and limit gauges
// read from. It returns a function that removes the source again, unless
// another was set meanwhile.
func SetTenantUsageSource(source func() []TenantUsage) (unset func()) {
	tenantUsage.mu.Lock()
	defer tenantUsage.mu.Unlock()
	tenantUsage.setting++
	mine := tenantUsage.setting
	tenantUsage.source = source
	return func() {
		tenantUsage.mu.Lock()
		defer tenantUsage.mu.Unlock()
		if tenantUsage.setting == mine {
			tenantUsage.source = nil
		}
	}
}

func (c *tenantUsageCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	ch <- usedDesc
	ch <- limitDesc
}

func (c *tenantUsageCollector) CollectWithStability(ch chan<- metrics.Metric) {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return
	}
	for _, u := range source() {
		ch <- metrics.NewLazyConstMetric(usedDesc, metrics.GaugeValue, u.Used, u.Tenant, u.Resource)
		if u.Limited {
			ch <- metrics.NewLazyConstMetric(limitDesc, metrics.GaugeValue, u.Limit, u.Tenant, u.Resource)
		}
	}
}
