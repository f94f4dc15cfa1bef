package helm

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/pkg/localcluster/clustertest"
)

// apiTimeout bounds each wait for the API server to act on what was
// applied (a CRD becoming established, an admission policy taking effect).
const apiTimeout = time.Minute

// applier server-side-applies rendered objects with strict field
// validation, as `helm install` on a current cluster would.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t testing.TB, cfg *rest.Config) *applier {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

func (a *applier) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	ri := dynamic.ResourceInterface(a.dyn.Resource(mapping.Resource))
	if mapping.Scope.Name() == "namespace" {
		ri = a.dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	raw, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, raw,
		metav1.PatchOptions{FieldManager: "hadron-chart-test", FieldValidation: metav1.FieldValidationStrict})
	if err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// install applies the rendered manifests as helm would: the release
// namespace, then the CRDs (waiting until they are served), then the rest.
func install(ctx context.Context, t *testing.T, cfg *rest.Config, namespace string, objs []*unstructured.Unstructured) {
	t.Helper()
	client := clientFor(t, cfg)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := newApplier(t, cfg)
	for _, obj := range find(objs, "CustomResourceDefinition") {
		if err := a.apply(ctx, obj); err != nil {
			t.Fatal(err)
		}
		waitEstablished(ctx, t, a.dyn, obj.GetName())
	}
	a.mapper.Reset()
	for _, obj := range objs {
		if obj.GetKind() == "CustomResourceDefinition" {
			continue
		}
		if err := a.apply(ctx, obj); err != nil {
			t.Error(err)
		}
	}
}

// waitEstablished waits until a CRD's Established condition is true.
func waitEstablished(ctx context.Context, t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	crds := dyn.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions"))
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiTimeout, true, func(ctx context.Context) (bool, error) {
		obj, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range conditions {
			if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", name, err)
	}
}

func TestInstallOnLocalCluster(t *testing.T) {
	objs := render(t, allFeatures)
	c := clustertest.Get(t)
	_, ctx := ktesting.NewTestContext(t)
	install(ctx, t, c.Config, releaseNamespace, objs)

	// The CRD serves Tenants.
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	tenant := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "capsule.clastix.io/v1beta2", "kind": "Tenant",
		"metadata": map[string]any{"name": "physics", "labels": map[string]any{"quota.hadron.dev/gpu.hadron.dev": "4"}},
		"spec":     map[string]any{"owners": []any{map[string]any{"kind": "Group", "name": "physics"}}},
	}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Group: "capsule.clastix.io", Version: "v1beta2", Resource: "tenants"}).
		Create(ctx, tenant, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a Tenant: %v", err)
	}

	// The admission policy's expressions compile against the ResourceSlice
	// schema.
	policies := dyn.Resource(schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"})
	for _, obj := range find(objs, "ValidatingAdmissionPolicy") {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiTimeout, true, func(ctx context.Context) (bool, error) {
			policy, err := policies.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			checked, found, _ := unstructured.NestedMap(policy.Object, "status", "typeChecking")
			if !found {
				return false, nil
			}
			if warnings, _, _ := unstructured.NestedSlice(checked, "expressionWarnings"); len(warnings) > 0 {
				return false, fmt.Errorf("type checking warnings: %v", warnings)
			}
			return true, nil
		})
		if err != nil {
			t.Errorf("ValidatingAdmissionPolicy %s: %v", obj.GetName(), err)
		}
	}

	t.Run("plugin writes only its node's slices", func(t *testing.T) {
		testOwnNodeSlices(ctx, t, c.Config)
	})
	t.Run("plugin reclaims only its node's workspaces", func(t *testing.T) {
		testOwnNodeWorkspaces(ctx, t, c.Config)
	})
	t.Run("the reclaimer runs with the chart's rights", func(t *testing.T) {
		testReclaimerWithChartRights(ctx, t, c.Config)
	})
	t.Run("plugin rights", func(t *testing.T) {
		testPluginRights(ctx, t, c.Config, release{name: releaseName, namespace: releaseNamespace}, true)
	})

	// A second release, with every optional part off (reclaim too), beside
	// the first: its plugin gets no right on pods, Services or Events.
	bare := release{name: releaseName + "-minimal", namespace: releaseNamespace + "-minimal"}
	install(ctx, t, c.Config, bare.namespace, renderRelease(t, minimal, bare))
	t.Run("plugin rights without reclaim", func(t *testing.T) {
		testPluginRights(ctx, t, c.Config, bare, false)
	})
}
