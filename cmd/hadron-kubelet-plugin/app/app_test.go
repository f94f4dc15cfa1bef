package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// capture runs the command and returns what it printed on stdout.
func capture(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	cmd := NewCommand()
	cmd.SetArgs(args)
	runErr := cmd.Execute()
	os.Stdout = stdout
	_ = w.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r)
	return buf.String(), runErr
}

func TestPrintSlices(t *testing.T) {
	out, err := capture(t, "--machine", "dgxh100", "--node-name", "n1", "--print-slices", "--sysfs-root", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(out, "---\n"), "---\n")
	if len(docs) != 1 {
		t.Fatalf("want one ResourceSlice, got %d documents", len(docs))
	}
	var slice resourceapi.ResourceSlice
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &slice); err != nil {
		t.Fatalf("output is not a ResourceSlice: %v\n%s", err, out)
	}
	if slice.Kind != "ResourceSlice" || slice.Spec.Driver != attrs.GPUDriver || *slice.Spec.NodeName != "n1" || len(slice.Spec.Devices) != 8 {
		t.Fatalf("unexpected slice: %+v", slice.Spec)
	}
	numa := map[int64]int{}
	for _, d := range slice.Spec.Devices {
		numa[*d.Attributes[attrs.NUMANode].IntValue]++
		if d.Attributes[attrs.PCIeRoot].StringValue == nil {
			t.Errorf("%s has no pcieRoot", d.Name)
		}
	}
	if numa[0] != 4 || numa[1] != 4 {
		t.Errorf("DGX H100 has 4 GPUs per NUMA node, got %v", numa)
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(malformed, []byte("name: x\ncpu: {coresPerSocket: 4, memoryGiB: 8}\ngpus:\n- {pciBusID: nonsense}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown machine":   {[]string{"--machine", "dgx-nope", "--node-name", "n1", "--print-slices"}, `unknown machine "dgx-nope"`},
		"malformed file":    {[]string{"--machine", malformed, "--node-name", "n1", "--print-slices"}, "pciBusID"},
		"missing node name": {[]string{"--machine", "dgxh100", "--print-slices"}, "--node-name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("NODE_NAME", "")
			_, err := capture(t, tc.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Fatalf("want one line naming %q, got %q", tc.want, msg)
			}
		})
	}
}
