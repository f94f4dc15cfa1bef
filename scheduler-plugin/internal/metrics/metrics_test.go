package metrics

import (
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
)

// TestSourceReplacement: registering twice is harmless, and an old
// keeper's unset leaves the newer keeper's usage source in place.
func TestSourceReplacement(t *testing.T) {
	Register()
	Register()
	unsetOld := SetTenantUsageSource(func() []TenantUsage { return []TenantUsage{{Tenant: "old", Resource: "gpus", Used: 1}} })
	unsetNew := SetTenantUsageSource(func() []TenantUsage {
		return []TenantUsage{{Tenant: "new", Resource: "gpus", Used: 2, Limit: 4, Limited: true}}
	})
	unsetOld()
	want := `
# HELP hadron_scheduler_tenant_quota_limit [ALPHA] Quota limit per tenant and resource from the Tenant's quota labels, in the resource's unit.
# TYPE hadron_scheduler_tenant_quota_limit gauge
hadron_scheduler_tenant_quota_limit{resource="gpus",tenant="new"} 4
# HELP hadron_scheduler_tenant_quota_used [ALPHA] Quota usage per tenant and resource: allocated claims plus reservations in flight, in the resource's unit (bytes for gpu-memory, counts otherwise).
# TYPE hadron_scheduler_tenant_quota_used gauge
hadron_scheduler_tenant_quota_used{resource="gpus",tenant="new"} 2
`
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(want),
		"hadron_scheduler_tenant_quota_used", "hadron_scheduler_tenant_quota_limit"); err != nil {
		t.Error(err)
	}
	unsetNew()
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(""),
		"hadron_scheduler_tenant_quota_used", "hadron_scheduler_tenant_quota_limit"); err != nil {
		t.Errorf("after unset: %v", err)
	}
}
