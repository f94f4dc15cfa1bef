package tenantquota

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespaceTenant(t *testing.T) {
	owner := func(apiVersion, kind, name string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name}
	}
	for name, tc := range map[string]struct {
		labels              map[string]string
		owners              []metav1.OwnerReference
		tenant, wantProblem string
	}{
		"none":                 {},
		"label only":           {labels: map[string]string{DefaultTenantLabel: "physics"}, tenant: "physics"},
		"label and owner":      {labels: map[string]string{DefaultTenantLabel: "physics"}, owners: []metav1.OwnerReference{owner("capsule.clastix.io/v1beta2", "Tenant", "physics")}, tenant: "physics"},
		"older Capsule API":    {labels: map[string]string{DefaultTenantLabel: "physics"}, owners: []metav1.OwnerReference{owner("capsule.clastix.io/v1beta1", "Tenant", "physics")}, tenant: "physics"},
		"other owners ignored": {owners: []metav1.OwnerReference{owner("example.com/v1", "Tenant", "x"), owner("v1", "ConfigMap", "y")}},
		"mismatch": {labels: map[string]string{DefaultTenantLabel: "biology"}, owners: []metav1.OwnerReference{owner("capsule.clastix.io/v1beta2", "Tenant", "physics")},
			tenant: "biology", wantProblem: "namespace ns has capsule.clastix.io/tenant=biology but is owned by Tenant physics"},
		"owner without label": {owners: []metav1.OwnerReference{owner("capsule.clastix.io/v1beta2", "Tenant", "physics")},
			wantProblem: "namespace ns is owned by Tenant physics but has no capsule.clastix.io/tenant label"},
	} {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: tc.labels, OwnerReferences: tc.owners}}
		tenant, problem := namespaceTenant(ns, DefaultTenantLabel)
		if tenant != tc.tenant || problem != tc.wantProblem {
			t.Errorf("%s: (%q, %q), want (%q, %q)", name, tenant, problem, tc.tenant, tc.wantProblem)
		}
	}
}
