package tenantquota

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	schedutil "k8s.io/kubernetes/pkg/scheduler/util"
)

// msgNotSynced holds pods until the plugin's caches have their initial
// state: after a restart, admitting before the allocated claims are
// known could overshoot.
const msgNotSynced = "quota caches not synced"

// namespaceGetTimeout bounds the API call for a namespace the informer
// does not have yet, which happens inside a scheduling cycle.
const namespaceGetTimeout = 5 * time.Second

// target is the tenant a pod is held to.
type target struct {
	tenant string
	info   tenantInfo
	// namespaces are those whose usage counts for the tenant.
	namespaces []string
}

// resolve finds the tenant of pod's namespace; seen is the accounts'
// generation before the scheduling cycle looked at anything. It returns nil, nil for a
// namespace without a tenant (not limited), and a rejection for a pod
// that must be held: caches not synced, namespace not known yet, label
// and owners disagreeing, the tenant missing or its quota labels
// malformed. Held pods are remembered so that the change that would
// admit them activates them.
func (k *keeper) resolve(ctx context.Context, pod *v1.Pod, seen uint64) (*target, *fwk.Status) {
	logger := klog.FromContext(ctx)
	hold := func(tenant, msg string) *fwk.Status {
		k.hold(logger, pod, tenant, seen)
		logger.V(4).Info("Holding pod", "pod", klog.KObj(pod), "tenant", tenant, "reason", msg)
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, msg)
	}
	if !k.namespacesSynced() {
		return nil, hold("", msgNotSynced)
	}
	ns, err := k.namespaces.Get(pod.Namespace)
	if apierrors.IsNotFound(err) {
		// A namespace created just before the pod may not have reached
		// the informer: ask the API server rather than guess.
		getCtx, cancel := context.WithTimeout(ctx, namespaceGetTimeout)
		ns, err = k.client.CoreV1().Namespaces().Get(getCtx, pod.Namespace, metav1.GetOptions{})
		cancel()
		if apierrors.IsNotFound(err) {
			// Gone, or a scheduler running on fake objects: no tenant.
			return nil, nil
		}
	}
	if err != nil {
		return nil, hold("", fmt.Sprintf("namespace %s is not known yet: %v", pod.Namespace, err))
	}
	tenant, problem := namespaceTenant(ns, k.args.TenantLabel)
	if problem != "" {
		return nil, hold(tenant, problem)
	}
	if tenant == "" {
		return nil, nil
	}
	if !k.synced() {
		return nil, hold(tenant, msgNotSynced)
	}
	info, ok := k.tenants.get(tenant)
	if !ok {
		return nil, hold(tenant, fmt.Sprintf("namespace %s names tenant %q, which does not exist", ns.Name, tenant))
	}
	if info.err != nil {
		return nil, hold(tenant, fmt.Sprintf("tenant %q: %s; its pods are held until the label is fixed", tenant, flatten(info.err)))
	}
	namespaces, err := k.tenantNamespaces(tenant)
	if err != nil {
		return nil, fwk.AsStatus(fmt.Errorf("list namespaces of tenant %s: %w", tenant, err))
	}
	return &target{tenant: tenant, info: info, namespaces: namespaces}, nil
}

// podClaims returns the pod's ResourceClaims that exist, as the
// scheduler's claim tracker has them (informer plus assumed writes).
// Claims not created yet are left to the DynamicResources plugin, which
// does not let such pods through.
func (k *keeper) podClaims(pod *v1.Pod) []*resourceapi.ResourceClaim {
	var out []*resourceapi.ResourceClaim
	for i := range pod.Spec.ResourceClaims {
		name, mustCheckOwner, err := resourceclaim.Name(pod, &pod.Spec.ResourceClaims[i])
		if err != nil || name == nil {
			continue
		}
		claim, err := k.claims.Get(pod.Namespace, *name)
		if err != nil {
			continue
		}
		if mustCheckOwner && resourceclaim.IsForPod(pod, claim, true) != nil {
			continue
		}
		out = append(out, claim)
	}
	return out
}

// draExtendedResource returns an extended resource of pod that a
// DeviceClass backs (explicitly, or implicitly as
// deviceclass.resource.kubernetes.io/<class>), if any. Its claim only exists (with a temporary
// UID) inside the DynamicResources plugin until PreBind, so this plugin
// cannot price it in Reserve; such pods are held in limited tenants.
func (k *keeper) draExtendedResource(pod *v1.Pod) (v1.ResourceName, bool) {
	if k.classes == nil {
		return "", false
	}
	check := func(list v1.ResourceList) (v1.ResourceName, bool) {
		for name, q := range list {
			if !q.IsZero() && schedutil.IsDRAExtendedResourceName(name) && k.classes.GetDeviceClass(name) != nil {
				return name, true
			}
		}
		return "", false
	}
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if name, ok := check(cs[i].Resources.Requests); ok {
				return name, true
			}
			if name, ok := check(cs[i].Resources.Limits); ok {
				return name, true
			}
		}
	}
	if pod.Spec.Resources != nil {
		return check(pod.Spec.Resources.Requests)
	}
	return "", false
}
