package tenantquota

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/pkg/quota"
)

const (
	// fieldManager owns the published ConfigMaps in server-side apply.
	fieldManager = "hadron-scheduler-tenantquota"
	// managedByLabel marks the published ConfigMaps.
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "hadron-scheduler"
	// republishEvery rewrites every ConfigMap now and then, in case one was
	// deleted or edited by hand.
	republishEvery = 5 * time.Minute
)

// Keys of the published ConfigMap besides <resource>.limit and
// <resource>.used.
const (
	keyTenant     = "tenant"
	keyStatus     = "status"
	keyNamespaces = "namespaces"
	statusOK      = "ok"
)

// publisher writes each tenant's usage and limits into a ConfigMap in
// each of its namespaces: tenant users, who may not read Tenants, see
// where they stand. It starts with the first scheduling cycle, i.e. in
// the leading scheduler only, and writes a namespace's ConfigMap only
// when its content changed, at most once per interval.
type publisher struct {
	k        *keeper
	name     string
	interval time.Duration
	// published is the data last written per namespace.
	published map[string]map[string]string
}

func newPublisher(k *keeper, name string, interval time.Duration) *publisher {
	return &publisher{k: k, name: name, interval: interval, published: map[string]map[string]string{}}
}

func (p *publisher) run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-p.k.active:
	}
	logger := klog.FromContext(ctx)
	logger.V(1).Info("Publishing tenant quota usage", "configMap", p.name, "interval", p.interval)
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()
	lastFull := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if time.Since(lastFull) > republishEvery {
			clear(p.published)
			lastFull = time.Now()
		}
		p.sync(ctx)
	}
}

// sync writes what changed since the last call and removes the
// ConfigMaps of namespaces that left their tenant.
func (p *publisher) sync(ctx context.Context) {
	logger := klog.FromContext(ctx)
	if !p.k.synced() {
		return
	}
	want, err := p.desired()
	if err != nil {
		logger.Error(err, "Computing tenant quota usage to publish")
		return
	}
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		data := want[ns]
		if maps.Equal(p.published[ns], data) {
			continue
		}
		cm := corev1ac.ConfigMap(p.name, ns).WithLabels(map[string]string{managedByLabel: managedByValue}).WithData(data)
		if _, err := p.k.client.CoreV1().ConfigMaps(ns).Apply(ctx, cm, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			// A namespace being deleted refuses new objects; retried next time.
			logger.V(2).Info("Publishing tenant quota usage failed", "namespace", ns, "err", err)
			continue
		}
		p.published[ns] = data
	}
	for ns := range p.published {
		if _, ok := want[ns]; ok {
			continue
		}
		err := p.k.client.CoreV1().ConfigMaps(ns).Delete(ctx, p.name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			logger.V(2).Info("Removing tenant quota usage failed", "namespace", ns, "err", err)
			continue
		}
		delete(p.published, ns)
	}
}

// desired computes the ConfigMap data of every namespace of every known
// tenant. A namespace whose label and Tenant owner disagree counts for
// both, but shows its label's tenant (or else its owner's), with the
// problem as status.
func (p *publisher) desired() (map[string]map[string]string, error) {
	k := p.k
	all, err := k.namespaces.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	byTenant := map[string][]string{}
	shown := map[string]string{}    // namespace → tenant whose data it shows
	problems := map[string]string{} // namespace → why its pods are held
	for _, ns := range all {
		tenant, problem := namespaceTenant(ns, k.args.TenantLabel)
		owners := tenantOwners(ns)
		if tenant == "" && len(owners) > 0 {
			tenant = owners[0]
		}
		if tenant == "" {
			continue
		}
		shown[ns.Name] = tenant
		if problem != "" {
			problems[ns.Name] = problem
		}
		for _, t := range append([]string{tenant}, owners...) {
			if !slices.Contains(byTenant[t], ns.Name) {
				byTenant[t] = append(byTenant[t], ns.Name)
			}
		}
	}
	want := map[string]map[string]string{}
	for tenant, namespaces := range byTenant {
		info, ok := k.tenants.get(tenant)
		if !ok {
			continue
		}
		slices.Sort(namespaces)
		data := usageData(tenant, info, k.acct.usage(namespaces), namespaces)
		for _, ns := range namespaces {
			if shown[ns] != tenant {
				continue
			}
			want[ns] = data
			if problem, ok := problems[ns]; ok {
				want[ns] = maps.Clone(data)
				want[ns][keyStatus] = "held: " + problem
			}
		}
	}
	return want, nil
}

// usageData is the content of one tenant's ConfigMap: the tenant, its
// namespaces, whether its pods are held, and per resource the limit
// (when limited) and the usage (allocated claims plus reservations in
// flight), both in the quota labels' units.
func usageData(tenant string, info tenantInfo, used quota.List, namespaces []string) map[string]string {
	data := map[string]string{
		keyTenant:     tenant,
		keyStatus:     statusOK,
		keyNamespaces: strings.Join(namespaces, ","),
	}
	if info.err != nil {
		data[keyStatus] = "held: " + flatten(info.err)
	}
	for r, v := range used {
		if v != 0 {
			data[string(r)+".used"] = r.Format(v)
		}
	}
	// A limited resource shows its usage even when nothing is used.
	for r, limit := range info.quota.Limits {
		data[string(r)+".limit"] = r.Format(limit)
		data[string(r)+".used"] = r.Format(used[r])
	}
	return data
}
