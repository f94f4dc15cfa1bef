package helm

import (
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// typedScheme knows every kind the chart renders.
func typedScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// toTyped converts a rendered object to its Go type, rejecting fields the
// type does not have: a misspelled or misplaced field fails here rather
// than being dropped by the API server.
func toTyped(t testing.TB, s *runtime.Scheme, obj *unstructured.Unstructured) runtime.Object {
	t.Helper()
	typed, err := s.New(obj.GroupVersionKind())
	if err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, typed, true); err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return typed
}

func TestLint(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--namespace", releaseNamespace}, s.helmArgs()...)
			runHelm(t, args...)
		})
	}
}

// kinds lists the rendered kinds, sorted.
func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, obj := range objs {
		if !slices.Contains(out, obj.GetKind()) {
			out = append(out, obj.GetKind())
		}
	}
	slices.Sort(out)
	return out
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		scenario scenario
		// want are the kinds rendered, sorted.
		want []string
	}{
		{defaults, []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Deployment", "DeviceClass",
			"Role", "RoleBinding", "Service", "ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}},
		{allFeatures, []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "CustomResourceDefinition", "DaemonSet", "Deployment",
			"DeviceClass", "Role", "RoleBinding", "Service", "ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}},
		{simulated, []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Deployment", "DeviceClass",
			"Role", "RoleBinding", "Service", "ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}},
		{minimal, []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Deployment", "RoleBinding", "ServiceAccount"}},
	}
	for _, tc := range tests {
		t.Run(tc.scenario.name, func(t *testing.T) {
			objs := render(t, tc.scenario)
			if got := kinds(objs); !slices.Equal(got, tc.want) {
				t.Errorf("rendered kinds %v, want %v", got, tc.want)
			}
			s := typedScheme(t)
			seen := map[string]bool{}
			for _, obj := range objs {
				toTyped(t, s, obj)
				key := obj.GroupVersionKind().String() + " " + obj.GetNamespace() + "/" + obj.GetName()
				if seen[key] {
					t.Errorf("rendered twice: %s", key)
				}
				seen[key] = true
				if obj.GetLabels()["app.kubernetes.io/instance"] != releaseName {
					t.Errorf("%s lacks the chart's labels: %v", key, obj.GetLabels())
				}
				if !clusterScoped[obj.GetKind()] && obj.GetNamespace() == "" {
					t.Errorf("%s has no namespace: `kubectl apply` of the rendered manifests would put it elsewhere", key)
				}
			}
		})
	}
}

// clusterScoped are the cluster-scoped kinds the chart renders.
var clusterScoped = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true, "DeviceClass": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}
