package app

import (
	"bytes"
	"fmt"
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
	// Read while the command writes: the output can exceed a pipe's buffer.
	var buf bytes.Buffer
	read := make(chan struct{})
	go func() {
		_, _ = buf.ReadFrom(r)
		close(read)
	}()
	stdout := os.Stdout
	os.Stdout = w
	cmd := NewCommand()
	cmd.SetArgs(args)
	runErr := cmd.Execute()
	os.Stdout = stdout
	_ = w.Close()
	<-read
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
		"unknown GPU mode":  {[]string{"--machine", "dgxh100", "--node-name", "n1", "--gpu-mode", "fast", "--print-slices"}, "--gpu-mode"},
		"bad config file":   {[]string{"--machine", "dgxh100", "--node-name", "n1", "--config", malformed, "--print-slices"}, malformed},
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

func TestPrintSlicesPerMode(t *testing.T) {
	tests := map[string]struct {
		mode                string
		slices, counterSets int
		wantTypes           map[string]int
	}{
		// 8 whole GPUs plus at least 7 partitions (the 1g placements) each.
		"mig":    {mode: "mig", counterSets: 8},
		"shared": {mode: "shared", wantTypes: map[string]int{"shared": 8}},
		"whole":  {mode: "whole", wantTypes: map[string]int{"gpu": 8}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := capture(t, "--machine", "dgxh100", "--node-name", "n1", "--gpu-mode", tc.mode, "--print-slices", "--sysfs-root", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			sets := 0
			for _, doc := range strings.Split(strings.TrimPrefix(out, "---\n"), "---\n") {
				var slice resourceapi.ResourceSlice
				if err := yaml.UnmarshalStrict([]byte(doc), &slice); err != nil {
					t.Fatalf("not a ResourceSlice: %v", err)
				}
				if len(slice.Spec.SharedCounters) > 0 && len(slice.Spec.Devices) > 0 {
					t.Fatal("counters and devices in one slice")
				}
				sets += len(slice.Spec.SharedCounters)
				for _, d := range slice.Spec.Devices {
					types[*d.Attributes[attrs.GPUType].StringValue]++
				}
			}
			if sets != tc.counterSets {
				t.Errorf("%d counter sets, want %d", sets, tc.counterSets)
			}
			if tc.wantTypes != nil && fmt.Sprint(types) != fmt.Sprint(tc.wantTypes) {
				t.Errorf("device types %v, want %v", types, tc.wantTypes)
			}
			if tc.mode == "mig" && (types["gpu"] != 8 || types["mig"] < 8*7) {
				t.Errorf("MIG mode publishes %v", types)
			}
		})
	}
}
