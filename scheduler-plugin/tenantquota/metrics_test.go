package tenantquota

import (
	"strings"
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"github.com/hadron-sched/hadron/pkg/quota"
	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

// TestQuotaMetrics: a rejection is counted per tenant and resource, and
// the usage and limit gauges show the ledger when scraped.
func TestQuotaMetrics(t *testing.T) {
	schedmetrics.Register()
	h := newHarness(t)
	unset := schedmetrics.SetTenantUsageSource(h.k.usageMetrics)
	defer unset()
	h.tenant("metrics-lab", map[string]string{"quota.hadron.dev/gpus": "1"})
	h.namespace("m1", "metrics-lab", "metrics-lab")
	rejected := schedmetrics.QuotaRejections.WithLabelValues("metrics-lab", string(quota.GPUs))
	before, err := testutil.GetCounterMetricValue(rejected)
	if err != nil {
		t.Fatal(err)
	}

	h.gpuClaim("m1", "first")
	if _, st := h.reserve(pod("m1", "p1", "first"), "gpu-0"); !st.IsSuccess() {
		t.Fatalf("first pod: %v", st)
	}
	h.gpuClaim("m1", "second")
	if _, st := h.reserve(pod("m1", "p2", "second"), "gpu-1"); st.IsSuccess() {
		t.Fatal("second pod admitted over a quota of one GPU")
	}
	after, err := testutil.GetCounterMetricValue(rejected)
	if err != nil {
		t.Fatal(err)
	}
	if after-before != 1 {
		t.Errorf("rejections counted: %v, want 1", after-before)
	}

	want := `
# HELP hadron_scheduler_tenant_quota_limit [ALPHA] Quota limit per tenant and resource from the Tenant's quota labels, in the resource's unit.
# TYPE hadron_scheduler_tenant_quota_limit gauge
hadron_scheduler_tenant_quota_limit{resource="gpus",tenant="metrics-lab"} 1
# HELP hadron_scheduler_tenant_quota_used [ALPHA] Quota usage per tenant and resource: allocated claims plus reservations in flight, in the resource's unit (bytes for gpu-memory, counts otherwise).
# TYPE hadron_scheduler_tenant_quota_used gauge
hadron_scheduler_tenant_quota_used{resource="gpu-memory",tenant="metrics-lab"} 8.589934592e+10
hadron_scheduler_tenant_quota_used{resource="gpu-milli",tenant="metrics-lab"} 1000
hadron_scheduler_tenant_quota_used{resource="gpus",tenant="metrics-lab"} 1
`
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(want),
		"hadron_scheduler_tenant_quota_used", "hadron_scheduler_tenant_quota_limit"); err != nil {
		t.Error(err)
	}

	unset()
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(""),
		"hadron_scheduler_tenant_quota_used", "hadron_scheduler_tenant_quota_limit"); err != nil {
		t.Errorf("after the keeper stopped: %v", err)
	}
}
