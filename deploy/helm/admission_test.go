package helm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

const (
	ownNodePolicy = releaseName + "-resourceslices-own-node"
	nodeA, nodeB  = "node-a", "node-b"
)

// pluginServiceAccount is the kubelet plugin's service account in the
// release the admission tests install.
var pluginServiceAccount = release{name: releaseName, namespace: releaseNamespace}.pluginServiceAccount()

func clientFor(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// slice is a ResourceSlice of hadron's GPU driver for a node.
func slice(name, node string) *resourceapi.ResourceSlice {
	return &resourceapi.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: resourceapi.ResourceSliceSpec{
			Driver:   "gpu.hadron.dev",
			Pool:     resourceapi.ResourcePool{Name: node, Generation: 1, ResourceSliceCount: 1},
			NodeName: ptr.To(node),
			Devices:  []resourceapi.Device{{Name: "gpu-0"}},
		},
	}
}

// pluginConfig returns a client configuration that authenticates as the
// plugin's service account with token.
func pluginConfig(admin *rest.Config, token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = token
	return cfg
}

// pluginTokenOnNode returns a service account token of the plugin bound to
// a pod on node, as the kubelet mounts into the DaemonSet's pod: the API
// server then authenticates it with the node's name in the user's extra.
// The pod is created once per node and reused.
func pluginTokenOnNode(ctx context.Context, t *testing.T, admin kubernetes.Interface, node string) string {
	t.Helper()
	pods := admin.CoreV1().Pods(releaseNamespace)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kubelet-plugin-on-" + node},
		Spec: corev1.PodSpec{
			ServiceAccountName:           pluginServiceAccount,
			AutomountServiceAccountToken: ptr.To(false),
			NodeName:                     node,
			Containers:                   []corev1.Container{{Name: "plugin", Image: "registry.invalid/hadron"}},
		},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		pod, err = pods.Get(ctx, "kubelet-plugin-on-"+node, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return requestToken(ctx, t, admin, &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID})
}

func requestToken(ctx context.Context, t *testing.T, admin kubernetes.Interface, bound *authenticationv1.BoundObjectReference) string {
	t.Helper()
	tr, err := admin.CoreV1().ServiceAccounts(releaseNamespace).CreateToken(ctx, pluginServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600), BoundObjectRef: bound},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request a token of %s: %v", pluginServiceAccount, err)
	}
	return tr.Status.Token
}

// deniedByPolicy reports whether err is the own-node policy's denial and
// says so in the message.
func deniedByPolicy(err error, message string) bool {
	return deniedBy(err, ownNodePolicy, message)
}

// deniedBy reports whether err is policy's denial and says message.
func deniedBy(err error, policy, message string) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), policy) && strings.Contains(err.Error(), message)
}

// createNodes creates the nodes the tests bind pods and slices to, once.
func createNodes(ctx context.Context, t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	for _, node := range []string{nodeA, nodeB} {
		_, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func testOwnNodeSlices(ctx context.Context, t *testing.T, adminCfg *rest.Config) {
	admin := clientFor(t, adminCfg)
	createNodes(ctx, t, admin)
	onA := clientFor(t, pluginConfig(adminCfg, pluginTokenOnNode(ctx, t, admin, nodeA))).ResourceV1().ResourceSlices()
	const otherNode = "may only write ResourceSlices of that node, not of node " + nodeB

	// The policy takes effect once the API server has loaded it; a dry
	// run asks without leaving a slice behind.
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := onA.Create(ctx, slice("probe", nodeB), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if ctx.Err() == nil {
			lastErr = err
		}
		return deniedByPolicy(err, otherNode), nil
	})
	if err != nil {
		t.Fatalf("the plugin on %s may still create a slice of %s; last answer: %v", nodeA, nodeB, lastErr)
	}

	// Its own node's slices: create, update, delete.
	own, err := onA.Create(ctx, slice("gpu-"+nodeA, nodeA), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the plugin on %s cannot create its own slice: %v", nodeA, err)
	}
	own.Spec.Devices = append(own.Spec.Devices, resourceapi.Device{Name: "gpu-1"})
	if _, err := onA.Update(ctx, own, metav1.UpdateOptions{}); err != nil {
		t.Errorf("the plugin on %s cannot update its own slice: %v", nodeA, err)
	}
	if err := onA.Delete(ctx, own.Name, metav1.DeleteOptions{}); err != nil {
		t.Errorf("the plugin on %s cannot delete its own slice: %v", nodeA, err)
	}

	// Another node's slices: neither create, nor update, nor delete.
	if _, err := onA.Create(ctx, slice("gpu-"+nodeB, nodeB), metav1.CreateOptions{}); !deniedByPolicy(err, otherNode) {
		t.Errorf("the plugin on %s creating a slice of %s: got %v, want the policy's denial", nodeA, nodeB, err)
	}
	theirs, err := admin.ResourceV1().ResourceSlices().Create(ctx, slice("gpu-"+nodeB, nodeB), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	theirs.Spec.Devices = nil
	if _, err := onA.Update(ctx, theirs, metav1.UpdateOptions{}); !deniedByPolicy(err, otherNode) {
		t.Errorf("the plugin on %s updating a slice of %s: got %v, want the policy's denial", nodeA, nodeB, err)
	}
	if err := onA.Delete(ctx, theirs.Name, metav1.DeleteOptions{}); !deniedByPolicy(err, otherNode) {
		t.Errorf("the plugin on %s deleting a slice of %s: got %v, want the policy's denial", nodeA, nodeB, err)
	}
	if _, err := admin.ResourceV1().ResourceSlices().Get(ctx, theirs.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the slice of %s is gone: %v", nodeB, err)
	}

	// A token bound to no pod names no node: no slice at all.
	unbound := clientFor(t, pluginConfig(adminCfg, requestToken(ctx, t, admin, nil))).ResourceV1().ResourceSlices()
	if _, err := unbound.Create(ctx, slice("unbound", nodeA), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); !deniedByPolicy(err, "name no node") {
		t.Errorf("the plugin with a token bound to no pod creating a slice: got %v, want the policy's denial", err)
	}

	// Other identities are not matched: the admin still writes any slice.
	if err := admin.ResourceV1().ResourceSlices().Delete(ctx, theirs.Name, metav1.DeleteOptions{}); err != nil {
		t.Errorf("the admin cannot delete a slice of %s: %v", nodeB, err)
	}
}

// testPluginRights checks the plugin's RBAC in release r: what its
// drivers do, what the idle workspace reclaimer does where it runs, and
// nothing else.
func testPluginRights(ctx context.Context, t *testing.T, adminCfg *rest.Config, r release, reclaim bool) {
	admin := clientFor(t, adminCfg)
	const workspaces = "physics"
	tests := []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceslices", Verb: "create"}, true},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceslices", Verb: "watch"}, true},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceslices", Verb: "delete"}, true},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceclaims", Namespace: workspaces, Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Resource: "nodes", Name: nodeA, Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceslices", Verb: "deletecollection"}, false},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceclaims", Namespace: workspaces, Verb: "update"}, false},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "resourceclaims", Namespace: workspaces, Verb: "list"}, false},
		{authorizationv1.ResourceAttributes{Group: "resource.k8s.io", Resource: "deviceclasses", Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Resource: "nodes", Name: nodeA, Verb: "update"}, false},
		{authorizationv1.ResourceAttributes{Resource: "secrets", Namespace: releaseNamespace, Verb: "get"}, false},
		// The reclaimer watches workspace pods, annotates and deletes
		// them, marks their Services and records Events; without it the
		// plugin touches none of these.
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "list"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "watch"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "get"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "patch"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "delete"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: workspaces, Verb: "get"}, reclaim},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: workspaces, Verb: "patch"}, reclaim},
		{authorizationv1.ResourceAttributes{Group: "events.k8s.io", Resource: "events", Namespace: workspaces, Verb: "create"}, reclaim},
		// Not even the reclaimer creates pods, evicts them, writes their
		// status, lists Services, deletes Services or edits Events.
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Resource: "pods", Namespace: workspaces, Verb: "deletecollection"}, false},
		{authorizationv1.ResourceAttributes{Resource: "pods", Subresource: "eviction", Namespace: workspaces, Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Resource: "pods", Subresource: "status", Namespace: workspaces, Verb: "patch"}, false},
		{authorizationv1.ResourceAttributes{Resource: "pods", Subresource: "exec", Namespace: workspaces, Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: workspaces, Verb: "list"}, false},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: workspaces, Verb: "delete"}, false},
		{authorizationv1.ResourceAttributes{Resource: "events", Namespace: workspaces, Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Group: "events.k8s.io", Resource: "events", Namespace: workspaces, Verb: "patch"}, false},
	}
	for _, tc := range tests {
		review, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: r.pluginUser(), ResourceAttributes: &tc.attrs},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(errors.Join(errors.New("subject access review"), err))
		}
		if review.Status.Allowed != tc.want {
			a := tc.attrs
			t.Errorf("plugin of release %s may %s %s/%s/%s: %v, want %v", r.name, a.Verb, a.Group, a.Resource, a.Subresource, review.Status.Allowed, tc.want)
		}
	}
}
