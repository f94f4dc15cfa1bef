package tenantquota

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/klog/v2"
)

// InjectTenant gives the plugin of the scheduler built on factory a
// Tenant, as its Tenant watch would, and marks Tenants synced: schedulers
// on fake clients have no client configuration to watch them with.
func InjectTenant(logger klog.Logger, factory informers.SharedInformerFactory, name string, labels map[string]string) bool {
	keepers.Lock()
	k := keepers.byFactory[factory]
	keepers.Unlock()
	if k == nil {
		return false
	}
	k.tenants.apply(logger, &metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: labels})
	k.tenants.synced.Store(true)
	k.tenantChanged(logger, "")
	return true
}
