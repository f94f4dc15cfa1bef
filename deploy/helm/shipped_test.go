package helm

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	resourceapi "k8s.io/api/resource/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
)

// envUpdate, set to 1, makes TestShippedFilesInSync copy deploy/'s
// manifests into the chart instead of failing.
const envUpdate = "HADRON_UPDATE_CHART"

// shippedFiles are the manifests of deploy/ the chart carries in files/,
// by their path below deploy/.
func shippedFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"scheduler/config.yaml": deploy.SchedulerConfig}
	for _, dir := range []struct {
		fsys    fs.FS
		pattern string
	}{
		{deploy.DeviceClasses, "deviceclasses/*.yaml"},
		{deploy.CRDs, "crds/*.yaml"},
		{deploy.RBAC, "rbac/*.yaml"},
	} {
		paths, err := fs.Glob(dir.fsys, dir.pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			data, err := fs.ReadFile(dir.fsys, path)
			if err != nil {
				t.Fatal(err)
			}
			files[path] = data
		}
	}
	return files
}

// TestShippedFilesInSync checks that the chart's files/ are deploy/'s
// manifests, byte for byte: helm reads files only inside the chart, so the
// chart carries copies, and a copy that drifted would install something
// else than the tests and the local cluster use.
func TestShippedFilesInSync(t *testing.T) {
	want := shippedFiles(t)
	filesDir := filepath.Join(chartDir, "files")
	update := os.Getenv(envUpdate) == "1"
	for path, data := range want {
		chartPath := filepath.Join(filesDir, filepath.FromSlash(path))
		got, err := os.ReadFile(chartPath)
		if err == nil && bytes.Equal(got, data) {
			continue
		}
		if update {
			if err := os.MkdirAll(filepath.Dir(chartPath), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(chartPath, data, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("updated %s from deploy/%s", chartPath, path)
			continue
		}
		t.Errorf("deploy/helm/%s differs from deploy/%s: run `%s=1 go test ./deploy/helm -run TestShippedFilesInSync`", chartPath, path, envUpdate)
	}
	err := filepath.WalkDir(filesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(filesDir, path)
		if err != nil {
			return err
		}
		if _, ok := want[filepath.ToSlash(rel)]; ok {
			return nil
		}
		if update {
			t.Logf("removed %s: deploy/%s is gone", path, rel)
			return os.Remove(path)
		}
		t.Errorf("deploy/helm/%s has no counterpart deploy/%s: remove it or run `%s=1 go test ./deploy/helm -run TestShippedFilesInSync`", path, rel, envUpdate)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// decodeStrict decodes one YAML manifest into out, rejecting unknown
// fields.
func decodeStrict(t testing.TB, name string, data []byte, out any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestRenderedDeviceClassesAreDeploys(t *testing.T) {
	want := map[string]resourceapi.DeviceClassSpec{}
	for path, data := range shippedFiles(t) {
		if filepath.Dir(path) != "deviceclasses" {
			continue
		}
		var class resourceapi.DeviceClass
		decodeStrict(t, path, data, &class)
		want[class.Name] = class.Spec
	}
	s := typedScheme(t)
	for _, sc := range []scenario{defaults, allFeatures} {
		t.Run(sc.name, func(t *testing.T) {
			got := map[string]resourceapi.DeviceClassSpec{}
			for _, obj := range find(render(t, sc), "DeviceClass") {
				got[obj.GetName()] = toTyped(t, s, obj).(*resourceapi.DeviceClass).Spec
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rendered DeviceClasses differ from deploy/deviceclasses (-deploy +chart):\n%s", diff)
			}
		})
	}
}

func TestRenderedTenantCRDIsDeploys(t *testing.T) {
	var want apiextensionsv1.CustomResourceDefinition
	decodeStrict(t, "crds/tenants.capsule.clastix.io.yaml", shippedFiles(t)["crds/tenants.capsule.clastix.io.yaml"], &want)
	objs := render(t, allFeatures)
	got := toTyped(t, typedScheme(t), findOne(t, objs, "CustomResourceDefinition", want.Name)).(*apiextensionsv1.CustomResourceDefinition)
	if diff := cmp.Diff(want.Spec, got.Spec); diff != "" {
		t.Errorf("rendered Tenant CRD differs from deploy/crds (-deploy +chart):\n%s", diff)
	}
	if got.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("the CRD is not kept on uninstall: annotations %v", got.Annotations)
	}
	if crds := find(render(t, defaults), "CustomResourceDefinition"); len(crds) != 0 {
		t.Errorf("the Tenant CRD is installed by default; it would replace Capsule's")
	}
}

// tenantQuotaRules are the rules of deploy/rbac/tenantquota.yaml's
// ClusterRole.
func tenantQuotaRules(t testing.TB) []rbacv1.PolicyRule {
	t.Helper()
	for _, doc := range bytes.Split(shippedFiles(t)["rbac/tenantquota.yaml"], []byte("\n---\n")) {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal(doc, &role); err != nil {
			t.Fatal(err)
		}
		if role.Kind == "ClusterRole" {
			return role.Rules
		}
	}
	t.Fatal("deploy/rbac/tenantquota.yaml has no ClusterRole")
	return nil
}

func TestSchedulerRights(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			objs := render(t, sc)
			s := typedScheme(t)
			sa := releaseName + "-scheduler"
			// Every ClusterRole the scheduler's service account is bound to.
			var bound []string
			for _, obj := range find(objs, "ClusterRoleBinding") {
				binding := toTyped(t, s, obj).(*rbacv1.ClusterRoleBinding)
				for _, subject := range binding.Subjects {
					if subject.Kind == "ServiceAccount" && subject.Name == sa && subject.Namespace == releaseNamespace {
						bound = append(bound, binding.RoleRef.Name)
					}
				}
			}
			slices.Sort(bound)
			tenantQuotaRole := releaseName + "-scheduler-tenantquota"
			if want := []string{tenantQuotaRole, "system:kube-scheduler", "system:volume-scheduler"}; !slices.Equal(bound, want) {
				t.Errorf("scheduler bound to %v, want %v", bound, want)
			}
			role := toTyped(t, s, findOne(t, objs, "ClusterRole", tenantQuotaRole)).(*rbacv1.ClusterRole)
			if diff := cmp.Diff(tenantQuotaRules(t), role.Rules); diff != "" {
				t.Errorf("TenantQuota's rules differ from deploy/rbac/tenantquota.yaml (-deploy +chart):\n%s", diff)
			}
		})
	}
}
