package tenantquota

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

// keeper is the quota state one scheduler shares among all its profiles:
// the profiles' pods are scheduled by one goroutine, so one ledger makes
// the quota hold whichever profile a pod names.
type keeper struct {
	args *Args

	acct    *accounts
	pools   *poolIndex
	tenants *tenantCache

	// From the scheduler: claims with their in-flight allocations, the
	// DRA manager's slices, DeviceClasses of extended resources.
	claims     fwk.ResourceClaimTracker
	slices     fwk.ResourceSliceLister
	classes    fwk.DeviceClassResolver
	namespaces corelisters.NamespaceLister
	activator  fwk.PodActivator
	client     kubernetes.Interface

	// handlersSynced reports whether the plugin's informer handlers have
	// seen the initial lists; namespacesSynced the namespace handler alone.
	handlersSynced   func() bool
	namespacesSynced func() bool

	// tenantEvents is set when the Tenant API was served at start, so the
	// scheduler can watch Tenants for queueing hints.
	tenantEvents bool

	// active is closed at the first scheduling cycle: only a leading
	// scheduler runs them, and only a leader publishes usage.
	active     chan struct{}
	activeOnce sync.Once

	// cancel stops the keeper's goroutines and removes its informer
	// handlers.
	cancel context.CancelFunc
	refs   int
}

// keepers holds one keeper per scheduler, keyed by its informer factory,
// which all profiles of one scheduler share.
var keepers = struct {
	sync.Mutex
	byFactory map[informers.SharedInformerFactory]*keeper
}{byFactory: map[informers.SharedInformerFactory]*keeper{}}

// sharedKeeper returns the scheduler's keeper, creating it for the first
// profile. Every profile must pass the same arguments.
func sharedKeeper(ctx context.Context, args *Args, fh fwk.Handle) (*keeper, error) {
	keepers.Lock()
	defer keepers.Unlock()
	factory := fh.SharedInformerFactory()
	if k := keepers.byFactory[factory]; k != nil {
		if !argsEqual(k.args, args) {
			return nil, fmt.Errorf("%s: profile %s has different arguments than another profile; the profiles share one quota ledger and need the same arguments", Name, fh.ProfileName())
		}
		k.refs++
		return k, nil
	}
	k, err := startKeeper(ctx, args, fh)
	if err != nil {
		return nil, err
	}
	k.refs = 1
	keepers.byFactory[factory] = k
	return k, nil
}

func argsEqual(a, b *Args) bool {
	return a.TenantLabel == b.TenantLabel && a.ConfigMapName == b.ConfigMapName &&
		a.PublishInterval.Duration == b.PublishInterval.Duration
}

// release drops one profile's reference; the last one stops the keeper.
func (k *keeper) release() {
	keepers.Lock()
	defer keepers.Unlock()
	k.refs--
	if k.refs > 0 {
		return
	}
	for f, other := range keepers.byFactory {
		if other == k {
			delete(keepers.byFactory, f)
		}
	}
	k.cancel()
}

// startKeeper wires the keeper to the scheduler's informers and starts
// the Tenant watch and the publisher.
func startKeeper(ctx context.Context, args *Args, fh fwk.Handle) (*keeper, error) {
	logger := klog.FromContext(ctx).WithName(Name)
	dra := fh.SharedDRAManager()
	if dra == nil {
		return nil, errors.New(Name + " needs dynamic resource allocation, which is off")
	}
	// Without a client configuration (schedulers built in tests on fake
	// clients) Tenants cannot be watched: pods of tenant namespaces are
	// then held, namespaces without a tenant work as usual.
	var (
		disc     discovery.DiscoveryInterface
		mdClient metadata.Interface
	)
	if cfg := fh.KubeConfig(); cfg != nil {
		var err error
		if mdClient, err = metadata.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("%s: metadata client: %w", Name, err)
		}
		discCfg := rest.CopyConfig(cfg)
		discCfg.Timeout = 10 * time.Second
		if disc, err = discovery.NewDiscoveryClientForConfig(discCfg); err != nil {
			return nil, fmt.Errorf("%s: discovery client: %w", Name, err)
		}
	}
	recorder := fh.EventRecorder()
	if recorder == nil {
		recorder = &events.FakeRecorder{}
	}

	ctx, cancel := context.WithCancel(klog.NewContext(ctx, logger))
	k := newKeeper(args, dra, fh.SharedInformerFactory().Core().V1().Namespaces().Lister(), fh, fh.ClientSet(), recorder.WithLogger(logger))

	factory := fh.SharedInformerFactory()
	type added struct {
		informer cache.SharedIndexInformer
		reg      cache.ResourceEventHandlerRegistration
	}
	var handlers []added
	k.cancel = func() {
		cancel()
		for _, h := range handlers {
			_ = h.informer.RemoveEventHandler(h.reg)
		}
	}
	for _, h := range []struct {
		what     string
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{"namespaces", factory.Core().V1().Namespaces().Informer(), k.namespaceHandler(logger)},
		{"ResourceClaims", factory.Resource().V1().ResourceClaims().Informer(), k.claimHandler(logger)},
		{"ResourceSlices", factory.Resource().V1().ResourceSlices().Informer(), k.pools.handler()},
	} {
		reg, err := h.informer.AddEventHandler(h.handler)
		if err != nil {
			k.cancel()
			return nil, fmt.Errorf("%s: watch %s: %w", Name, h.what, err)
		}
		handlers = append(handlers, added{h.informer, reg})
	}
	k.namespacesSynced = handlers[0].reg.HasSynced
	k.handlersSynced = func() bool {
		for _, h := range handlers {
			if !h.reg.HasSynced() {
				return false
			}
		}
		return true
	}
	if disc != nil {
		served, err := tenantAPIServed(disc)
		switch {
		case served:
			k.tenantEvents = true
		case err == nil || apierrors.IsNotFound(err):
			logger.Info("Tenant API not served; pods in tenant namespaces are held until it is (install deploy/crds or Capsule)", "resource", tenantGVR.String())
		default:
			logger.Error(err, "Looking up the Tenant API; Tenant changes will not trigger queueing hints", "resource", tenantGVR.String())
		}
		go k.tenants.run(ctx, disc, mdClient)
	} else {
		logger.Error(nil, "No client configuration: Tenants cannot be watched, pods in tenant namespaces are held")
	}
	go k.activateWhenSynced(ctx)
	schedmetrics.Register()
	unsetUsage := schedmetrics.SetTenantUsageSource(k.usageMetrics)
	stop := k.cancel
	k.cancel = func() { stop(); unsetUsage() }
	if args.PublishInterval.Duration > 0 {
		go newPublisher(k, args.ConfigMapName, args.PublishInterval.Duration).run(ctx)
	}
	return k, nil
}

// newKeeper builds a keeper on its dependencies, without informers or
// goroutines; startKeeper wires those.
func newKeeper(args *Args, dra fwk.SharedDRAManager, namespaces corelisters.NamespaceLister, activator fwk.PodActivator, client kubernetes.Interface, recorder events.EventRecorder) *keeper {
	k := &keeper{
		args:             args,
		pools:            newPoolIndex(),
		claims:           dra.ResourceClaims(),
		slices:           dra.ResourceSlices(),
		classes:          dra.DeviceClassResolver(),
		namespaces:       namespaces,
		activator:        activator,
		client:           client,
		active:           make(chan struct{}),
		cancel:           func() {},
		handlersSynced:   func() bool { return true },
		namespacesSynced: func() bool { return true },
	}
	k.acct = newAccounts(k.pools)
	k.tenants = newTenantCache(recorder, k.tenantChanged)
	return k
}

// synced reports whether everything the quota check reads has its
// initial state: namespaces, claims, slices and Tenants.
func (k *keeper) synced() bool {
	return k.handlersSynced() && k.tenants.synced.Load()
}

// markActive records that this scheduler runs scheduling cycles.
func (k *keeper) markActive() {
	k.activeOnce.Do(func() { close(k.active) })
}

// activateWhenSynced lets the pods held while the caches were syncing
// try again once they are.
func (k *keeper) activateWhenSynced(ctx context.Context) {
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return k.synced(), nil
	})
	if err == nil {
		k.activateHeld(klog.FromContext(ctx), func(heldPod) bool { return true })
	}
}

// activateHeld moves the matching held pods back to the active queue.
// It must not be called with the accounts' mutex held: the queue calls
// queueing hints, which read the keeper, under its own lock.
func (k *keeper) activateHeld(logger klog.Logger, match func(heldPod) bool) {
	pods := k.acct.takeHeld(match)
	if len(pods) == 0 {
		return
	}
	m := make(map[string]*v1.Pod, len(pods))
	for _, p := range pods {
		m[p.Namespace+"/"+p.Name] = p
	}
	logger.V(4).Info("Activating pods held for the quota", "count", len(m))
	k.activator.Activate(logger, m)
}

// hold keeps pod until a change for its tenant or namespace activates
// it, or activates it right away if such a change already happened since
// seen: it may have missed the pod.
func (k *keeper) hold(logger klog.Logger, pod *v1.Pod, tenant string, seen uint64) {
	if !k.acct.hold(pod, tenant, seen) {
		k.retry(logger, pod)
	}
}

// retry activates one pod, which is in flight: the scheduling queue
// requeues it when its cycle ends.
func (k *keeper) retry(logger klog.Logger, pod *v1.Pod) {
	logger.V(5).Info("Retrying pod at once: something changed during its scheduling cycle", "pod", klog.KObj(pod))
	k.activator.Activate(logger, map[string]*v1.Pod{pod.Namespace + "/" + pod.Name: pod})
}

// activateTenant activates the pods held for tenant.
func (k *keeper) activateTenant(logger klog.Logger, tenant string) {
	if tenant == "" {
		return
	}
	k.activateHeld(logger, func(h heldPod) bool { return h.tenant == tenant })
}

// tenantChanged is told by the Tenant cache about a changed tenant, or
// with "" that Tenants are synced.
func (k *keeper) tenantChanged(logger klog.Logger, name string) {
	if name == "" {
		if k.synced() {
			k.activateHeld(logger, func(heldPod) bool { return true })
		}
		return
	}
	k.activateTenant(logger, name)
}

// tenantOf is the tenant of a namespace, "" when it has none or is not
// known (yet).
func (k *keeper) tenantOf(namespace string) string {
	ns, err := k.namespaces.Get(namespace)
	if err != nil {
		return ""
	}
	tenant, _ := namespaceTenant(ns, k.args.TenantLabel)
	return tenant
}

// tenantNamespaces lists the namespaces whose usage counts for tenant.
func (k *keeper) tenantNamespaces(tenant string) ([]string, error) {
	all, err := k.namespaces.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range all {
		if belongsTo(ns, k.args.TenantLabel, tenant) {
			out = append(out, ns.Name)
		}
	}
	return out, nil
}
