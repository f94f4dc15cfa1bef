package helm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	// envHelm names the helm binary the chart tests run; `make test`
	// builds it and sets this.
	envHelm = "HADRON_HELM"
	// chartDir is the chart, relative to this package.
	chartDir = "hadron"
	// releaseName and releaseNamespace are those of every rendering.
	releaseName      = "hadron"
	releaseNamespace = "hadron-system"
)

// scenario is one set of values the chart is linted, rendered and
// installed with.
type scenario struct {
	name string
	// valuesFile is below testdata/; empty means the chart's defaults.
	valuesFile string
}

var (
	defaults    = scenario{name: "defaults"}
	allFeatures = scenario{name: "all-features", valuesFile: "all-features.yaml"}
	simulated   = scenario{name: "simulated", valuesFile: "simulated.yaml"}
	minimal     = scenario{name: "minimal", valuesFile: "minimal.yaml"}
	scenarios   = []scenario{defaults, allFeatures, simulated, minimal}
)

// helmArgs are the values flags of s.
func (s scenario) helmArgs() []string {
	if s.valuesFile == "" {
		return nil
	}
	return []string{"--values", filepath.Join("testdata", s.valuesFile)}
}

// helmBinary returns the helm binary named by HADRON_HELM. Without it the
// test is skipped, except under CI, where a missing helm must not pass
// unnoticed.
func helmBinary(t testing.TB) string {
	t.Helper()
	path, err := findHelm()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set: the chart must be checked)", err)
		}
		t.Skipf("%v; `make test` builds helm and sets it", err)
	}
	return path
}

// findHelm checks HADRON_HELM.
func findHelm() (string, error) {
	path := os.Getenv(envHelm)
	if path == "" {
		return "", errors.New(envHelm + " is not set: the chart tests need the helm binary")
	}
	if _, err := exec.LookPath(path); err != nil {
		return "", errors.New(envHelm + "=" + path + " is not an executable: " + err.Error())
	}
	return path, nil
}

// runHelm runs helm with args and returns its stdout; a failure fails the
// test with helm's stderr.
func runHelm(t testing.TB, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := tryHelm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// tryHelm runs helm with args and returns its stdout, its stderr and how
// it failed, if it did.
func tryHelm(t testing.TB, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// helm keeps caches and settings in the home directory otherwise.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// render runs `helm template` for s as the release releaseName in
// releaseNamespace and returns its manifests.
func render(t testing.TB, s scenario) []*unstructured.Unstructured {
	t.Helper()
	return renderRelease(t, s, release{name: releaseName, namespace: releaseNamespace})
}

// release is a Helm release: the name its objects are prefixed with and
// the namespace of its namespaced objects.
type release struct {
	name, namespace string
}

// pluginServiceAccount is the kubelet plugin's service account in r.
func (r release) pluginServiceAccount() string { return r.name + "-kubelet-plugin" }

// pluginUser is the user name the kubelet plugin authenticates as in r.
func (r release) pluginUser() string {
	return "system:serviceaccount:" + r.namespace + ":" + r.pluginServiceAccount()
}

// renderRelease runs `helm template` for s as r and returns its
// manifests.
func renderRelease(t testing.TB, s scenario, r release) []*unstructured.Unstructured {
	t.Helper()
	args := append([]string{"template", r.name, chartDir, "--namespace", r.namespace}, s.helmArgs()...)
	objs, err := parseManifests(runHelm(t, args...))
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return objs
}

// parseManifests splits a multi-document YAML stream into objects,
// skipping empty documents.
func parseManifests(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		obj := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" || obj.GetName() == "" {
			return nil, errors.New("manifest without apiVersion, kind or name:\n" + string(doc))
		}
		objs = append(objs, obj)
	}
}

// find returns the rendered objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetKind() == kind {
			out = append(out, obj)
		}
	}
	return out
}

// findOne returns the one rendered object of a kind and name, failing the
// test without it.
func findOne(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, obj := range find(objs, kind) {
		if obj.GetName() == name {
			return obj
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}
