package localenv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

const (
	wsTenant    = "ws-physics"
	wsNamespace = "ws-physics-alice"
	wsUser      = "alice"
	// wsGPUQuota is what gpu-full (1) and gpu-4-rdma (4) take together:
	// MIG partitions and GPU shares do not count as whole GPUs.
	wsGPUQuota = "5"
	// wsStartTimeout bounds each wait; a workspace that needs longer has
	// failed.
	wsStartTimeout = 90 * time.Second
)

// TestWorkspaces creates one workspace per built-in profile as a tenant
// user who has only the shipped namespaced Role, through the code the CLI
// uses: each reaches Running with its devices on one NUMA node; list,
// describe and quota work with those rights; one more GPU workspace is
// held by the tenant's quota, and create says so.
func TestWorkspaces(t *testing.T) {
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	workspaceTenant(t, dyn)
	user := tenantUser(t)
	c := &workspace.Client{Kube: user, Namespace: wsNamespace}

	set, err := workspace.LoadProfiles(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	// The user may not read hadron-system: built-ins, with a note.
	if set.Note == "" || !strings.Contains(set.Note, "built-in profiles only") {
		t.Errorf("note %q, want one saying only the built-in profiles are offered", set.Note)
	}
	builtin, err := workspace.BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Profiles) != len(builtin) {
		t.Fatalf("%d profiles, want the %d built-in", len(set.Profiles), len(builtin))
	}

	for _, p := range set.Profiles {
		if _, err := c.Create(ctx, p, p.Name); err != nil {
			t.Fatalf("create %s: %v", p.Name, err)
		}
	}
	for _, p := range set.Profiles {
		var steps []string
		waitCtx, cancel := context.WithTimeout(ctx, wsStartTimeout)
		pod, err := c.WaitRunning(waitCtx, p.Name, func(pr workspace.Progress) { steps = append(steps, pr.String()) })
		cancel()
		if err != nil {
			t.Fatalf("workspace %s: %v (progress: %q)", p.Name, err, steps)
		}
		t.Logf("workspace %s: %s", p.Name, strings.Join(steps, " | "))
		if last := steps[len(steps)-1]; !strings.HasPrefix(last, "running on node "+pod.Spec.NodeName) {
			t.Errorf("workspace %s: last progress %q", p.Name, last)
		}
		checkAligned(t, p, pod)
	}

	// list, as the tenant user: every workspace, running, with its
	// devices; NUMA is "-" because tenants may not read ResourceSlices.
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(set.Profiles) {
		t.Fatalf("list shows %d workspaces, want %d", len(list), len(set.Profiles))
	}
	for _, s := range list {
		p, err := workspace.FindProfile(set.Profiles, s.Profile)
		if err != nil || s.Name != p.Name || s.Phase != string(v1.PodRunning) || s.Node == "-" || s.NUMA() != "-" {
			t.Errorf("list entry %+v (profile %v)", s, err)
		}
		if want := deviceCount(p); len(s.Devices) != want {
			t.Errorf("workspace %s lists %d devices, want %d", s.Name, len(s.Devices), want)
		}
	}

	// An admin, who may read ResourceSlices, sees the NUMA nodes.
	adminList, err := (&workspace.Client{Kube: env.Client, Namespace: wsNamespace}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range adminList {
		if p, _ := workspace.FindProfile(set.Profiles, s.Profile); len(p.Align) > 0 && strings.Contains(s.NUMA(), ",") || len(p.Devices) > 0 && s.NUMA() == "-" {
			t.Errorf("admin list: workspace %s NUMA %q", s.Name, s.NUMA())
		}
	}

	// quota, as the tenant user.
	waitWorkspaceQuota(t, c, "gpus", wsGPUQuota, wsGPUQuota)

	// Over the quota: create says why the workspace waits.
	full, err := workspace.FindProfile(set.Profiles, "gpu-full")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, full, "one-more"); err != nil {
		t.Fatal(err)
	}
	var reason workspace.PendingReason
	waitCtx, cancel := context.WithTimeout(ctx, wsStartTimeout)
	_, err = c.WaitRunning(waitCtx, "one-more", func(pr workspace.Progress) {
		if pr.Stage == workspace.StagePending && pr.Reason.Kind == workspace.PendingQuota {
			reason = pr.Reason
			cancel() // the reason is what this test waits for
		}
	})
	cancel()
	if reason.Kind != workspace.PendingQuota {
		t.Fatalf("over quota: no quota reason reported; create ended with %v", err)
	}
	wantDetail := `tenant "` + wsTenant + `": quota.hadron.dev/gpus exceeded: used 5, requested 1, limit 5`
	if reason.Detail != wantDetail || !strings.Contains(reason.Summary, "quota") {
		t.Errorf("pending reason %q, want the summary to mention the quota and detail %q", reason, wantDetail)
	}
	if err == nil || !strings.Contains(err.Error(), wantDetail) {
		t.Errorf("create's error %v does not say why", err)
	}
	detail, err := c.Describe(ctx, "one-more")
	if err != nil {
		t.Fatal(err)
	}
	if detail.Pending == nil || detail.Pending.Kind != workspace.PendingQuota || len(detail.Claims) != 1 {
		t.Errorf("describe: pending %+v, %d claims", detail.Pending, len(detail.Claims))
	}

	// delete, as the tenant user: everything goes.
	for _, s := range append(list, workspace.Summary{Name: "one-more"}) {
		if _, err := c.Delete(ctx, s.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range append(list, workspace.Summary{Name: "one-more"}) {
		waitPodGone(t, wsNamespace, s.Name)
	}
	if left, err := c.List(ctx); err != nil || len(left) != 0 {
		t.Errorf("after delete, list shows %v (%v)", left, err)
	}
}

// checkAligned reads the pod's devices as admin: all present, and those
// of an aligned profile on one NUMA node.
func checkAligned(t *testing.T, p workspace.Profile, pod *v1.Pod) {
	t.Helper()
	devices := podDevices(t, pod)
	if len(devices) != deviceCount(p) {
		t.Fatalf("workspace %s has %d devices (%s), want %d", p.Name, len(devices), describeDevices(devices), deviceCount(p))
	}
	for _, d := range devices {
		if _, ok := d.Int("resource.kubernetes.io/numaNode"); !ok {
			t.Errorf("workspace %s: device %s/%s has no NUMA node", p.Name, d.Pool, d.Device)
		}
	}
	if nodes := numaNodes(devices); len(p.Align) > 0 && len(nodes) != 1 {
		t.Errorf("workspace %s is not NUMA-aligned: %s", p.Name, describeDevices(devices))
	}
}

func deviceCount(p workspace.Profile) int {
	n := 0
	for _, d := range p.Devices {
		n += int(max(d.Count, 1))
	}
	return n
}

// workspaceTenant creates the tenant with its GPU quota and its namespace.
func workspaceTenant(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	ctx := t.Context()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("capsule.clastix.io/v1beta2")
	u.SetKind("Tenant")
	u.SetName(wsTenant)
	u.SetLabels(map[string]string{gpuQuota: wsGPUQuota})
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(tenantGVR).Create(ctx, u, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("create Tenant: %v", err)
	}
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wsNamespace, Labels: map[string]string{tenantLabel: wsTenant}}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = env.Client.CoreV1().Pods(wsNamespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}, metav1.ListOptions{})
		_ = env.Client.CoreV1().Namespaces().Delete(ctx, wsNamespace, metav1.DeleteOptions{})
		_ = dyn.Resource(tenantGVR).Delete(ctx, wsTenant, metav1.DeleteOptions{})
	})
}

// tenantUser binds the shipped tenant Role to a user in the tenant's
// namespace and returns a client acting as that user.
func tenantUser(t *testing.T) kubernetes.Interface {
	t.Helper()
	ctx := t.Context()
	applier, err := kube.NewApplier(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFS(ctx, deploy.WorkspaceRBAC, "workspaces/rbac/tenant-role.yaml", wsNamespace); err != nil {
		t.Fatal(err)
	}
	binding := []byte(`apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-workspaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: hadron-workspace-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ` + wsUser + `}]
`)
	if _, err := applier.Apply(ctx, binding, wsNamespace); err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Cluster.UserConfig(wsUser)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The user really has only namespaced rights.
	if _, err := client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("tenant user lists ResourceSlices: %v, want forbidden", err)
	}
	return client
}

// waitWorkspaceQuota waits until the tenant user's quota report shows
// the resource's usage and limit.
func waitWorkspaceQuota(t *testing.T, c *workspace.Client, resource, used, limit string) {
	t.Helper()
	var last workspace.QuotaReport
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last, lastErr = c.Quota(ctx)
		if apierrors.IsForbidden(errors.Unwrap(lastErr)) {
			return false, lastErr
		}
		for _, r := range last.Resources {
			if r.Name == resource && r.Used == used && r.Limit == limit {
				return last.Tenant == wsTenant, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("quota: want %s used %s limit %s; got %+v (%v)", resource, used, limit, last, lastErr)
	}
}
