package tenantquota

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// namespaceTenant is the tenant a namespace belongs to: the value of its
// tenant label. Capsule also makes the Tenant an owner of the namespace;
// when owners and label disagree (or an owned namespace lost its label)
// problem says so, and the namespace's pods are held: the label alone
// could be changed to move a namespace out of its quota.
func namespaceTenant(ns *v1.Namespace, label string) (tenant, problem string) {
	tenant = ns.Labels[label]
	owners := tenantOwners(ns)
	switch {
	case len(owners) == 0:
	case tenant == "":
		problem = fmt.Sprintf("namespace %s is owned by Tenant %s but has no %s label", ns.Name, owners[0], label)
	case !slices.Contains(owners, tenant):
		problem = fmt.Sprintf("namespace %s has %s=%s but is owned by Tenant %s", ns.Name, label, tenant, owners[0])
	}
	return tenant, problem
}

// tenantOwners lists the Tenants among the namespace's owners.
func tenantOwners(ns *v1.Namespace) []string {
	var out []string
	for _, ref := range ns.OwnerReferences {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err == nil && gv.Group == tenantGVK.Group && ref.Kind == tenantGVK.Kind {
			out = append(out, ref.Name)
		}
	}
	return out
}

// belongsTo reports whether a namespace's usage counts for tenant: it is
// labelled for it or owned by it. Counting owned namespaces whose label
// disagrees errs on the safe side.
func belongsTo(ns *v1.Namespace, label, tenant string) bool {
	return ns.Labels[label] == tenant || slices.Contains(tenantOwners(ns), tenant)
}
