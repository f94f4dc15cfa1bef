package localenv_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
)

var tenantGVR = schema.GroupVersionResource{Group: "capsule.clastix.io", Version: "v1beta2", Resource: "tenants"}

const (
	tenantLabel  = "capsule.clastix.io/tenant"
	gpuQuota     = "quota.hadron.dev/gpus"
	quotaMap     = "hadron-quota"
	quotaTenant  = "quota-physics"
	burstPods    = 100
	burstClaimTp = "one-gpu"
)

// quotaNamespaces are the tenant's namespaces.
var quotaNamespaces = []string{"quota-a", "quota-b", "quota-c"}

// TestTenantQuota runs a burst of 100 one-GPU pods in three namespaces of
// one tenant whose quota is 4 GPUs, on a node with 8, through both
// scheduler profiles. A watch on ResourceClaims checks after every event
// that the tenant never has more GPUs allocated than its limit. Deleting
// running pods lets pending ones in; the scheduler is restarted in the
// middle of that and rebuilds its state from the API; a malformed quota
// label holds the tenant's pods and is reported on the Tenant; raising
// the quota admits more. Each namespace's ConfigMap shows the usage.
func TestTenantQuota(t *testing.T) {
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped RBAC for the plugin is accepted (the local scheduler
	// itself runs with full rights).
	applier, err := kube.NewApplier(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFS(ctx, deploy.RBAC, "rbac/*.yaml", ""); err != nil {
		t.Fatal(err)
	}
	tenant := createTenant(t, dyn, map[string]string{gpuQuota: "4"})
	namespaces := quotaNamespaces
	for _, ns := range namespaces {
		tenantNamespace(t, ns, tenant)
	}
	w := watchTenantClaims(t, namespaces)
	w.limit.Store(4)

	// The burst, through both profiles.
	var wg sync.WaitGroup
	for i := range burstPods {
		wg.Go(func() {
			schedulerName := demo.SchedulerName
			if i%2 == 1 {
				schedulerName = defaultScheduler
			}
			quotaPod(t, namespaces[i%len(namespaces)], fmt.Sprintf("burst-%03d", i), schedulerName)
		})
	}
	wg.Wait()
	running := waitRunning(t, namespaces, 4, nil)
	w.waitCount(t, 4)

	// The others are held, and say why.
	pending := pendingPod(t, namespaces)
	wantMsg := fmt.Sprintf(`tenant %q: quota.hadron.dev/gpus exceeded: used 4, requested 1, limit 4`, quotaTenant)
	waitPodMessage(t, pending, wantMsg)
	for _, ns := range namespaces {
		waitQuotaMap(t, ns, map[string]string{"tenant": quotaTenant, "status": "ok", "gpus.limit": "4", "gpus.used": "4",
			"namespaces": strings.Join(namespaces, ","), "gpu-memory.used": "320Gi", "gpu-milli.used": "4000"})
	}

	// Deleting the running pods lets four pending ones in.
	deletePods(t, running)
	running = waitRunning(t, namespaces, 4, running)

	// Again, restarting the scheduler as soon as the first of the next
	// pods is bound, while the others are in flight.
	deletePods(t, running)
	waitBound(t, namespaces, 1, running)
	if err := env.Cluster.RestartScheduler(ctx); err != nil {
		t.Fatal(err)
	}
	running = waitRunning(t, namespaces, 4, running)
	w.waitCount(t, 4)

	// A malformed label holds the tenant's pods and is reported on the
	// Tenant; usage drains and nothing new is admitted.
	setTenantLabel(t, dyn, tenant, "four")
	waitTenantEvent(t, tenant, `quota label quota.hadron.dev/gpus="four"`)
	deletePods(t, running)
	w.waitCount(t, 0)
	pending = pendingPod(t, namespaces)
	waitPodMessage(t, pending, `quota.hadron.dev/gpus="four": want a non-negative integer`)
	waitQuotaMap(t, namespaces[0], map[string]string{"status": `held: quota label quota.hadron.dev/gpus="four": want a non-negative integer such as "4"`})
	time.Sleep(2 * time.Second)
	if n := w.current(); n != 0 {
		t.Fatalf("%d GPUs allocated while the quota label is malformed", n)
	}

	// Fixed and raised: six run.
	w.limit.Store(6)
	setTenantLabel(t, dyn, tenant, "6")
	waitRunning(t, namespaces, 6, nil)
	w.waitCount(t, 6)
	waitQuotaMap(t, namespaces[1], map[string]string{"status": "ok", "gpus.limit": "6", "gpus.used": "6"})

	if v := w.violations(); len(v) > 0 {
		t.Errorf("quota overshot:\n%s", strings.Join(v, "\n"))
	}
	t.Logf("most GPUs allocated at once: %d (limit 4, then 6)", w.max.Load())
}

// createTenant creates the test's Tenant; the namespaces it owns go with
// it at the end.
func createTenant(t *testing.T, dyn dynamic.Interface, labels map[string]string) *unstructured.Unstructured {
	t.Helper()
	ctx := t.Context()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("capsule.clastix.io/v1beta2")
	u.SetKind("Tenant")
	u.SetName(quotaTenant)
	u.SetLabels(labels)
	var created *unstructured.Unstructured
	// The CRD is applied at start; it may take a moment to be served.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		created, err = dyn.Resource(tenantGVR).Create(ctx, u, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("create Tenant: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = dyn.Resource(tenantGVR).Delete(ctx, quotaTenant, metav1.DeleteOptions{})
		for _, ns := range quotaNamespaces {
			_ = env.Client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}, metav1.ListOptions{})
			_ = env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
		// Other tests need the node's GPUs back.
		_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			for _, ns := range quotaNamespaces {
				if _, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return false, nil
				}
			}
			return true, nil
		})
	})
	return created
}

// tenantNamespace creates a namespace of tenant, labelled and owned as
// Capsule makes them, with a template for one whole GPU.
func tenantNamespace(t *testing.T, name string, tenant *unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{tenantLabel: tenant.GetName()},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: tenant.GetAPIVersion(), Kind: tenant.GetKind(), Name: tenant.GetName(), UID: tenant.GetUID(),
		}},
	}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tmpl := &resourceapi.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: burstClaimTp},
		Spec: resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 1)},
		}}},
	}
	if _, err := env.Client.ResourceV1().ResourceClaimTemplates(name).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// quotaPod creates a pod with one GPU from the namespace's template, on
// the DGX node, which has 8.
func quotaPod(t *testing.T, ns, name, schedulerName string) {
	t.Helper()
	pod := templatePod(ns, name, dgxNode, schedulerName, burstClaimTp)
	pod.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m"), v1.ResourceMemory: resource.MustParse("16Mi")}
	if _, err := env.Client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Error(err)
	}
}

// claimWatcher follows the ResourceClaims of the tenant's namespaces and
// checks, after every event, the number of allocated GPUs (one per claim)
// against the limit of the moment.
type claimWatcher struct {
	namespaces map[string]bool
	limit      atomic.Int64
	max        atomic.Int64

	mu        sync.Mutex
	allocated map[types.UID]bool
	over      []string
}

func watchTenantClaims(t *testing.T, namespaces []string) *claimWatcher {
	t.Helper()
	w := &claimWatcher{namespaces: map[string]bool{}, allocated: map[types.UID]bool{}}
	for _, ns := range namespaces {
		w.namespaces[ns] = true
	}
	claims := env.Client.ResourceV1().ResourceClaims(metav1.NamespaceAll)
	list, err := claims.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rw, err := watchtools.NewRetryWatcherWithContext(t.Context(), list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return claims.Watch(ctx, opts)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rw.Stop)
	go func() {
		for ev := range rw.ResultChan() {
			if claim, ok := ev.Object.(*resourceapi.ResourceClaim); ok && w.namespaces[claim.Namespace] {
				w.observe(ev.Type, claim)
			}
		}
	}()
	return w
}

func (w *claimWatcher) observe(typ watch.EventType, claim *resourceapi.ResourceClaim) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if typ == watch.Deleted || claim.Status.Allocation == nil {
		delete(w.allocated, claim.UID)
	} else {
		w.allocated[claim.UID] = true
	}
	n := int64(len(w.allocated))
	if n > w.max.Load() {
		w.max.Store(n)
	}
	if limit := w.limit.Load(); n > limit {
		w.over = append(w.over, fmt.Sprintf("%s: %d GPUs allocated after claim %s/%s (resourceVersion %s), limit %d",
			time.Now().Format(time.StampMilli), n, claim.Namespace, claim.Name, claim.ResourceVersion, limit))
	}
}

func (w *claimWatcher) current() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.allocated)
}

func (w *claimWatcher) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.over...)
}

// waitCount waits until exactly n GPUs are allocated.
func (w *claimWatcher) waitCount(t *testing.T, n int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return w.current() == n, nil
	})
	if err != nil {
		t.Fatalf("%d GPUs allocated, want %d", w.current(), n)
	}
}

// tenantPods lists the pods of the namespaces.
func tenantPods(t *testing.T, namespaces []string) []v1.Pod {
	t.Helper()
	var pods []v1.Pod
	for _, ns := range namespaces {
		list, err := env.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods = append(pods, list.Items...)
	}
	return pods
}

// newPods lists the pods of the namespaces other than those in skip that
// satisfy cond.
func newPods(t *testing.T, namespaces []string, skip []v1.Pod, cond func(*v1.Pod) bool) []v1.Pod {
	t.Helper()
	var found []v1.Pod
	for _, p := range tenantPods(t, namespaces) {
		if !slices.ContainsFunc(skip, func(s v1.Pod) bool { return s.UID == p.UID }) && cond(&p) {
			found = append(found, p)
		}
	}
	return found
}

// waitPods waits until n pods other than those in skip satisfy cond and
// returns them.
func waitPods(t *testing.T, namespaces []string, n int, skip []v1.Pod, what string, cond func(*v1.Pod) bool) []v1.Pod {
	t.Helper()
	var found []v1.Pod
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		found = newPods(t, namespaces, skip, func(p *v1.Pod) bool { return p.DeletionTimestamp == nil && cond(p) })
		return len(found) >= n, nil
	})
	if err != nil {
		t.Fatalf("%d pods %s, want %d", len(found), what, n)
	}
	if len(found) > n {
		t.Fatalf("%d pods %s, want %d", len(found), what, n)
	}
	return found
}

func waitRunning(t *testing.T, namespaces []string, n int, skip []v1.Pod) []v1.Pod {
	t.Helper()
	return waitPods(t, namespaces, n, skip, "running", running)
}

func waitBound(t *testing.T, namespaces []string, n int, skip []v1.Pod) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return len(newPods(t, namespaces, skip, func(p *v1.Pod) bool { return p.Spec.NodeName != "" })) >= n, nil
	})
	if err != nil {
		t.Fatalf("no new pod bound: %v", err)
	}
}

// pendingPod returns a pod that was not bound.
func pendingPod(t *testing.T, namespaces []string) v1.Pod {
	t.Helper()
	for _, p := range tenantPods(t, namespaces) {
		if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
			return p
		}
	}
	t.Fatal("no pending pod")
	return v1.Pod{}
}

func deletePods(t *testing.T, pods []v1.Pod) {
	t.Helper()
	for _, p := range pods {
		if err := env.Client.CoreV1().Pods(p.Namespace).Delete(t.Context(), p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitPodMessage waits until the pod's PodScheduled condition says want.
func waitPodMessage(t *testing.T, pod v1.Pod, want string) {
	t.Helper()
	waitPod(t, pod.Namespace, pod.Name, 30*time.Second, func(p *v1.Pod) bool {
		return strings.Contains(unscheduledMessage(p), want)
	})
}

// waitQuotaMap waits until the namespace's quota ConfigMap has want among
// its data.
func waitQuotaMap(t *testing.T, ns string, want map[string]string) {
	t.Helper()
	var data map[string]string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, quotaMap, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		data = cm.Data
		for k, v := range want {
			if data[k] != v {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("ConfigMap %s/%s has %v, want %v", ns, quotaMap, data, want)
	}
}

func setTenantLabel(t *testing.T, dyn dynamic.Interface, tenant *unstructured.Unstructured, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, gpuQuota, value)
	if _, err := dyn.Resource(tenantGVR).Patch(t.Context(), tenant.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitTenantEvent waits for a Warning Event on the Tenant whose note
// contains want.
func waitTenantEvent(t *testing.T, tenant *unstructured.Unstructured, want string) {
	t.Helper()
	var notes []string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := env.Client.EventsV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			FieldSelector: "regarding.kind=Tenant,regarding.name=" + tenant.GetName() + ",type=" + v1.EventTypeWarning,
		})
		if err != nil {
			return false, err
		}
		notes = nil
		for _, ev := range list.Items {
			if ev.Regarding.Kind == "Tenant" && ev.Regarding.Name == tenant.GetName() && ev.Type == v1.EventTypeWarning {
				notes = append(notes, ev.Reason+": "+ev.Note)
				if ev.Reason == "InvalidQuotaLabel" && strings.Contains(ev.Note, want) {
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no InvalidQuotaLabel event on Tenant %s containing %q; events: %v", tenant.GetName(), want, notes)
	}
}
