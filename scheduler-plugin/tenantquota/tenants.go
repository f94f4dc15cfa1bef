package tenantquota

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// The Tenant resource: Capsule's, or the minimal CRD of the same group
// and kind in deploy/crds for clusters without Capsule.
var (
	tenantGVR = schema.GroupVersionResource{Group: "capsule.clastix.io", Version: "v1beta2", Resource: "tenants"}
	tenantGVK = schema.GroupVersionKind{Group: "capsule.clastix.io", Version: "v1beta2", Kind: "Tenant"}
)

// tenantEventResource is the Tenant resource in the scheduler's cluster
// events: <plural>.<version>.<group>.
const tenantEventResource = "tenants.v1beta2.capsule.clastix.io"

const (
	// tenantAPIPollInterval is how often the plugin looks for the Tenant
	// API while it is not served (CRD not installed yet).
	tenantAPIPollInterval = 2 * time.Second
	// Event on a Tenant whose quota labels cannot be parsed.
	reasonInvalidQuota = "InvalidQuotaLabel"
	actionParseQuota   = "ParseQuota"
)

// tenantInfo is what the plugin knows of one Tenant.
type tenantInfo struct {
	uid   types.UID
	quota quota.Quota
	// err is set when a quota label is malformed; the tenant's pods are
	// then held, never admitted unchecked.
	err error
}

func (t tenantInfo) equal(o tenantInfo) bool {
	if t.uid != o.uid || !maps.Equal(t.quota.Limits, o.quota.Limits) {
		return false
	}
	if (t.err == nil) != (o.err == nil) {
		return false
	}
	return t.err == nil || t.err.Error() == o.err.Error()
}

// tenantCache holds the parsed quota of every Tenant. Only metadata is
// watched: the quota is in labels, and Capsule's Tenant specs can be large.
type tenantCache struct {
	recorder events.EventRecorder
	// changed is told the name of a tenant whose quota, validity or
	// existence changed, and "" once the cache is synced.
	changed func(logger klog.Logger, name string)

	synced atomic.Bool
	mu     sync.RWMutex
	byName map[string]tenantInfo
}

func newTenantCache(recorder events.EventRecorder, changed func(klog.Logger, string)) *tenantCache {
	return &tenantCache{recorder: recorder, changed: changed, byName: map[string]tenantInfo{}}
}

// get returns the tenant and whether it exists.
func (c *tenantCache) get(name string) (tenantInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.byName[name]
	return t, ok
}

// names lists the known tenants, sorted.
func (c *tenantCache) names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Sorted(maps.Keys(c.byName))
}

// apply parses a Tenant's labels and stores the result. A malformed
// label is logged and reported as an Event on the Tenant, once per
// distinct error.
func (c *tenantCache) apply(logger klog.Logger, obj metav1.Object) {
	q, err := quota.Parse(obj.GetLabels())
	info := tenantInfo{uid: obj.GetUID(), quota: q, err: err}
	c.mu.Lock()
	prev, existed := c.byName[obj.GetName()]
	c.byName[obj.GetName()] = info
	c.mu.Unlock()
	if existed && prev.equal(info) {
		return
	}
	if err != nil {
		logger.Error(err, "Tenant has invalid quota labels; its pods are held until they are fixed", "tenant", obj.GetName())
		c.recorder.Eventf(tenantRef(obj), nil, v1.EventTypeWarning, reasonInvalidQuota, actionParseQuota,
			"%s; pods of tenant %s are held until the label is fixed", flatten(err), obj.GetName())
	} else {
		logger.V(2).Info("Tenant quota", "tenant", obj.GetName(), "limits", q.Limits.String())
	}
	c.changed(logger, obj.GetName())
}

func (c *tenantCache) remove(logger klog.Logger, name string) {
	c.mu.Lock()
	_, existed := c.byName[name]
	delete(c.byName, name)
	c.mu.Unlock()
	if existed {
		logger.V(2).Info("Tenant deleted", "tenant", name)
		c.changed(logger, name)
	}
}

// flatten joins the errors of errors.Join on one line, for Events and
// pod conditions.
func flatten(err error) string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return err.Error()
	}
	msg := ""
	for i, e := range joined.Unwrap() {
		if i > 0 {
			msg += "; "
		}
		msg += e.Error()
	}
	return msg
}

// tenantRef is an object the event recorder can refer to: the Tenant's
// kind is not in the scheduler's scheme, so it has to be spelt out.
func tenantRef(obj metav1.Object) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: tenantGVK.GroupVersion().String(), Kind: tenantGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion()},
	}
}

func (c *tenantCache) handler(logger klog.Logger) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m, err := meta.Accessor(obj); err == nil {
				c.apply(logger, m)
			}
		},
		UpdateFunc: func(_, obj any) {
			if m, err := meta.Accessor(obj); err == nil {
				c.apply(logger, m)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, err := meta.Accessor(obj); err == nil {
				c.remove(logger, m.GetName())
			}
		},
	}
}

// tenantAPIServed reports whether the API server serves the Tenant
// resource.
func tenantAPIServed(disc discovery.DiscoveryInterface) (bool, error) {
	list, err := disc.ServerResourcesForGroupVersion(tenantGVR.GroupVersion().String())
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == tenantGVR.Resource {
			return true, nil
		}
	}
	return false, nil
}

// run waits until the Tenant API is served (the CRD may be installed
// after the scheduler started), then watches Tenants until ctx is done.
// Until the first full list has arrived the cache is not synced, and
// pods of tenant namespaces are held.
func (c *tenantCache) run(ctx context.Context, disc discovery.DiscoveryInterface, client metadata.Interface) {
	logger := klog.FromContext(ctx)
	loggedMissing := false
	err := wait.PollUntilContextCancel(ctx, tenantAPIPollInterval, true, func(context.Context) (bool, error) {
		served, err := tenantAPIServed(disc)
		if served {
			return true, nil
		}
		if !loggedMissing {
			logger.Info("Tenant API not served yet; pods in tenant namespaces are held until it is", "resource", tenantGVR.String(), "err", err)
			loggedMissing = true
		}
		return false, nil
	})
	if err != nil {
		return
	}
	informer := metadatainformer.NewFilteredMetadataInformer(client, tenantGVR, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	reg, err := informer.AddEventHandler(c.handler(logger))
	if err != nil {
		logger.Error(err, "Watching Tenants")
		return
	}
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return
	}
	logger.V(1).Info("Tenants synced", "tenants", len(c.names()))
	c.synced.Store(true)
	c.changed(logger, "")
}
