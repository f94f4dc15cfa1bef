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

// slicesByDriver parses print-slices output.
func slicesByDriver(t *testing.T, out string) map[string][]resourceapi.ResourceSlice {
	t.Helper()
	by := map[string][]resourceapi.ResourceSlice{}
	for _, doc := range strings.Split(strings.TrimPrefix(out, "---\n"), "---\n") {
		var slice resourceapi.ResourceSlice
		if err := yaml.UnmarshalStrict([]byte(doc), &slice); err != nil {
			t.Fatalf("output is not a ResourceSlice: %v\n%s", err, doc)
		}
		if slice.Kind != "ResourceSlice" || slice.Spec.NodeName == nil || *slice.Spec.NodeName != "n1" {
			t.Fatalf("unexpected slice: %+v", slice)
		}
		by[slice.Spec.Driver] = append(by[slice.Spec.Driver], slice)
	}
	return by
}

func TestPrintSlices(t *testing.T) {
	out, err := capture(t, "--machine", "dgxh100", "--node-name", "n1", "--print-slices", "--sysfs-root", t.TempDir(), "--reserved-cpus", "0,112")
	if err != nil {
		t.Fatal(err)
	}
	by := slicesByDriver(t, out)
	if len(by[attrs.GPUDriver]) != 1 || len(by[attrs.CPUDriver]) != 1 || len(by[attrs.NICDriver]) != 1 {
		t.Fatalf("want one slice per driver, got %v", by)
	}
	gpus := by[attrs.GPUDriver][0].Spec.Devices
	if len(gpus) != 8 {
		t.Fatalf("%d GPUs, want 8", len(gpus))
	}
	numa := map[int64]int{}
	for _, d := range gpus {
		numa[*d.Attributes[attrs.NUMANode].IntValue]++
		if d.Attributes[attrs.PCIeRoot].StringValue == nil {
			t.Errorf("%s has no pcieRoot", d.Name)
		}
	}
	if numa[0] != 4 || numa[1] != 4 {
		t.Errorf("DGX H100 has 4 GPUs per NUMA node, got %v", numa)
	}
	// Two NUMA nodes of 112 CPUs; CPU 0 and its sibling are reserved.
	cpus := map[string]int64{}
	for _, d := range by[attrs.CPUDriver][0].Spec.Devices {
		q := d.Capacity[attrs.CPUs].Value
		cpus[d.Name] = q.Value()
	}
	if cpus["numa-0"] != 110 || cpus["numa-1"] != 112 {
		t.Errorf("CPU devices %v, want numa-0: 110 and numa-1: 112", cpus)
	}
	// Eight compute ports and two dual-port storage adapters.
	if nics := by[attrs.NICDriver][0].Spec.Devices; len(nics) != 12 {
		t.Errorf("%d NICs, want 12", len(nics))
	}
}

func TestPrintSlicesRejectsBadCPUAndNICFlags(t *testing.T) {
	for _, args := range [][]string{{"--reserved-cpus", "0-x"}, {"--reserved-cpus", "500"}, {"--nic-sharing", "fair"}} {
		base := []string{"--machine", "workstation", "--node-name", "n1", "--print-slices", "--sysfs-root", t.TempDir()}
		if _, err := capture(t, append(base, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
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
		mode        string
		counterSets int
		wantTypes   map[string]int
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
			for _, slice := range slicesByDriver(t, out)[attrs.GPUDriver] {
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
