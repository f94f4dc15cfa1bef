package localcluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/featuregate"

	// Registers the Kubernetes feature gates with utilfeature.
	_ "k8s.io/kubernetes/pkg/features"
)

func TestWithDefaults(t *testing.T) {
	binDir := t.TempDir()
	tests := []struct {
		name            string
		env             string // HADRON_BIN_DIR
		opts            Options
		wantErr         string
		wantBinDir      string
		wantScheduler   string
		wantTempWorkDir bool
	}{
		{
			name:            "defaults",
			env:             binDir,
			wantBinDir:      binDir,
			wantScheduler:   DefaultSchedulerBinary,
			wantTempWorkDir: true,
		},
		{
			name:          "explicit",
			env:           "/does/not/matter",
			opts:          Options{BinDir: binDir, WorkDir: filepath.Join(binDir, "work"), SchedulerBinary: "kube-scheduler"},
			wantBinDir:    binDir,
			wantScheduler: "kube-scheduler",
		},
		{
			name:          "relative BinDir becomes absolute",
			opts:          Options{BinDir: ".", WorkDir: binDir},
			wantBinDir:    mustGetwd(t),
			wantScheduler: DefaultSchedulerBinary,
		},
		{
			name:    "scheduler binary must be a file name",
			opts:    Options{BinDir: binDir, WorkDir: binDir, SchedulerBinary: "/usr/bin/kube-scheduler"},
			wantErr: "must be a file name",
		},
		{
			name:    "unknown ExtraArgs component",
			opts:    Options{BinDir: binDir, WorkDir: binDir, ExtraArgs: map[string][]string{"kubelet": {"--v=5"}}},
			wantErr: `unknown component "kubelet"`,
		},
		{
			name:          "known ExtraArgs components",
			opts:          Options{BinDir: binDir, WorkDir: binDir, ExtraArgs: map[string][]string{ComponentAPIServer: {"--v=2"}, ComponentScheduler: {"--v=3"}}},
			wantBinDir:    binDir,
			wantScheduler: DefaultSchedulerBinary,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HADRON_BIN_DIR", tc.env)
			got, temp, err := tc.opts.withDefaults()
			if temp {
				t.Cleanup(func() { _ = os.RemoveAll(got.WorkDir) })
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.BinDir != tc.wantBinDir {
				t.Errorf("BinDir = %q, want %q", got.BinDir, tc.wantBinDir)
			}
			if got.SchedulerBinary != tc.wantScheduler {
				t.Errorf("SchedulerBinary = %q, want %q", got.SchedulerBinary, tc.wantScheduler)
			}
			if temp != tc.wantTempWorkDir {
				t.Errorf("temporary WorkDir = %v, want %v", temp, tc.wantTempWorkDir)
			}
			if !filepath.IsAbs(got.WorkDir) {
				t.Errorf("WorkDir %q is not absolute", got.WorkDir)
			}
			if temp {
				if st, err := os.Stat(got.WorkDir); err != nil || !st.IsDir() {
					t.Errorf("temporary WorkDir %q not created: %v", got.WorkDir, err)
				}
			}
			if got.Progress == nil {
				t.Error("Progress not defaulted")
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestBinaries(t *testing.T) {
	dir := t.TempDir()
	writeExe := func(name string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	writeExe(EtcdBinary, 0o755)
	writeExe(APIServerBinary, 0o755)
	writeExe(ControllerManagerBinary, 0o644) // not executable
	writeExe("kube-scheduler", 0o755)

	tests := []struct {
		name        string
		scheduler   string
		wantMissing []string
	}{
		{name: "default scheduler missing", scheduler: DefaultSchedulerBinary, wantMissing: []string{ControllerManagerBinary, DefaultSchedulerBinary}},
		{name: "kube-scheduler present", scheduler: "kube-scheduler", wantMissing: []string{ControllerManagerBinary}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{BinDir: dir, SchedulerBinary: tc.scheduler}
			b, err := o.binaries()
			var missing *MissingBinariesError
			if !errors.As(err, &missing) {
				t.Fatalf("got error %v, want MissingBinariesError", err)
			}
			if strings.Join(missing.Missing, ",") != strings.Join(tc.wantMissing, ",") {
				t.Errorf("missing = %v, want %v", missing.Missing, tc.wantMissing)
			}
			if !strings.Contains(err.Error(), "make build") {
				t.Errorf("error %q does not tell to run make build", err)
			}
			if b.scheduler != filepath.Join(dir, tc.scheduler) {
				t.Errorf("scheduler path = %q", b.scheduler)
			}
		})
	}

	if err := os.Chmod(filepath.Join(dir, ControllerManagerBinary), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := (Options{BinDir: dir, SchedulerBinary: "kube-scheduler"}).binaries(); err != nil {
		t.Errorf("all binaries present: %v", err)
	}
}

func TestDefaultBinDir(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "pkg", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("env wins", func(t *testing.T) {
		t.Setenv("HADRON_BIN_DIR", "/opt/hadron/bin")
		if got := DefaultBinDir(); got != "/opt/hadron/bin" {
			t.Errorf("DefaultBinDir() = %q", got)
		}
	})
	t.Run("module root", func(t *testing.T) {
		t.Setenv("HADRON_BIN_DIR", "")
		t.Chdir(sub)
		want := filepath.Join(root, "_output", "bin")
		// t.TempDir may be below a symlink; compare resolved paths.
		got := DefaultBinDir()
		if resolve(t, filepath.Dir(filepath.Dir(got))) != resolve(t, root) || !strings.HasSuffix(got, want[len(root):]) {
			t.Errorf("DefaultBinDir() = %q, want %q", got, want)
		}
	})
	t.Run("no module", func(t *testing.T) {
		t.Setenv("HADRON_BIN_DIR", "")
		if findModuleRoot(string(filepath.Separator)) != "" {
			t.Skip("go.mod in /")
		}
		t.Chdir(string(filepath.Separator))
		if got := DefaultBinDir(); got != "" {
			t.Errorf("DefaultBinDir() = %q, want empty", got)
		}
	})
}

func resolve(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFeatureGates checks that FeatureGates is accepted by the Kubernetes
// feature gate registry of the version the components are built from
// (known gates, dependencies satisfied, nothing locked to its default).
func TestFeatureGates(t *testing.T) {
	gate := utilfeature.DefaultMutableFeatureGate.DeepCopy()
	if err := gate.Set(FeatureGates); err != nil {
		t.Fatalf("Set(%q): %v", FeatureGates, err)
	}
	if errs := gate.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	all := gate.GetAll()
	for _, kv := range strings.Split(FeatureGates, ",") {
		name, value, _ := strings.Cut(kv, "=")
		spec, ok := all[featuregate.Feature(name)]
		if !ok {
			t.Errorf("unknown feature gate %s", name)
			continue
		}
		if spec.PreRelease == featuregate.GA || spec.LockToDefault {
			t.Errorf("feature gate %s is GA (locked: %v) and should not be set", name, spec.LockToDefault)
		}
		if value != "true" {
			t.Errorf("feature gate %s=%s: only enabling is expected", name, value)
		}
		if !gate.Enabled(featuregate.Feature(name)) {
			t.Errorf("feature gate %s not enabled", name)
		}
	}
	// The GA DRA gates must be on anyway.
	for _, name := range []featuregate.Feature{"DynamicResourceAllocation", "DRAAdminAccess", "DRAExtendedResource", "DRAPrioritizedList", "DRAResourceClaimDeviceStatus", "DRADeviceTaints", "DRADeviceTaintRules"} {
		if !gate.Enabled(name) {
			t.Errorf("%s is not enabled", name)
		}
	}
}
