package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaypipes/ghw/pkg/snapshot"

	"github.com/hadron-sched/hadron/pkg/simhw"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// The tests of this package need lazy symbol binding, as the Makefile's
// builds have it: the embedded kubectl links Go's plugin package, which
// makes the linker ask for immediate binding, and NVML's symbols resolve
// only once the library is loaded. Run them with
// go test -ldflags=-extldflags=-Wl,-z,lazy ./cmd/hadron/...

// runCommand runs the hadron command with args and returns its output.
func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	// The root command keeps its log file in the state directory.
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	var out bytes.Buffer
	cmd := NewCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

func TestTopologyCommand(t *testing.T) {
	root := t.TempDir()
	m, err := simhw.Load("workstation")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteSysfs(root); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of the output
		wantErr string
	}{
		{
			name: "simulated machine",
			args: []string{"topology", "--machine", "workstation"},
			want: []string{
				"topology of simulated machine workstation\n",
				"CPU: AMD Ryzen Threadripper PRO 5955WX 16-Cores\n",
				"1 socket, 1 NUMA node, 16 cores, 32 CPUs (2 threads per core), 2 GPUs",
				"NUMA node 0: CPUs 0-31 (16 cores, 32 threads), memory 256.0 GiB",
				"GPU 0000:01:00.0 [10de:20f1]", "pcieRoot=pci0000:00 driver=nvidia",
				"GPU 0000:41:00.0 [10de:20f1]", "pcieRoot=pci0000:40 driver=nvidia",
			},
		},
		{
			name: "tree under a root",
			args: []string{"topology", "--root", root},
			want: []string{"topology of " + root + "\n", "GPU 0000:41:00.0 [10de:20f1]"},
		},
		{
			name:    "machine and root together",
			args:    []string{"topology", "--machine", "workstation", "--root", root},
			wantErr: "mutually exclusive",
		},
		{
			name:    "unknown machine",
			args:    []string{"topology", "--machine", "no-such-machine"},
			wantErr: "no-such-machine",
		},
		{
			name:    "root without sysfs",
			args:    []string{"topology", "--root", t.TempDir()},
			wantErr: "no online CPU",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCommand(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestTopologyCapture captures a simulated machine and checks that the
// archive holds the same machine.
func TestTopologyCapture(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "dgxa100.tar.gz")
	out, err := runCommand(t, "topology", "--machine", "dgxa100", "--capture", archive)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "captured simulated machine dgxa100 into " + archive; !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
	dir := t.TempDir()
	if err := snapshot.UnpackInto(archive, dir); err != nil {
		t.Fatal(err)
	}
	topo, err := topology.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.CPUs) != 256 || len(topo.Nodes) != 8 || len(topo.GPUs) != 8 {
		t.Errorf("captured machine: %d CPUs, %d nodes, %d GPUs; want 256, 8, 8", len(topo.CPUs), len(topo.Nodes), len(topo.GPUs))
	}
}

// TestTopologyHost shows the machine the test runs on.
func TestTopologyHost(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/cpu"); err != nil {
		t.Skip("no sysfs on this machine")
	}
	out, err := runCommand(t, "topology")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "topology of this host\n") || !strings.Contains(out, "socket ") {
		t.Errorf("unexpected output:\n%s", out)
	}
}
