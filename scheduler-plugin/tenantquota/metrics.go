package tenantquota

import (
	"github.com/hadron-sched/hadron/pkg/quota"
	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

// usageMetrics is every known tenant's usage and limits, for the usage
// and limit gauges, read when metrics are scraped. Resources a tenant
// neither limits nor uses are left out.
func (k *keeper) usageMetrics() []schedmetrics.TenantUsage {
	var out []schedmetrics.TenantUsage
	for _, tenant := range k.tenants.names() {
		info, ok := k.tenants.get(tenant)
		if !ok {
			continue
		}
		namespaces, err := k.tenantNamespaces(tenant)
		if err != nil {
			continue
		}
		used := k.acct.usage(namespaces)
		for r, limit := range info.quota.Limits {
			out = append(out, schedmetrics.TenantUsage{Tenant: tenant, Resource: string(r), Used: float64(used[r]), Limit: float64(limit), Limited: true})
		}
		for r, v := range used {
			if _, limited := info.quota.Limits[r]; !limited && v != 0 {
				out = append(out, schedmetrics.TenantUsage{Tenant: tenant, Resource: string(r), Used: float64(v)})
			}
		}
	}
	return out
}

// countRejection counts a pod turned away by the quota.
func countRejection(tenant string, v *quota.Violation) {
	schedmetrics.QuotaRejections.WithLabelValues(tenant, string(v.Resource)).Inc()
}
