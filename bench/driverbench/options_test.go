package driverbench

import (
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		list      string
		wantNodes []string
		wantModes []string
		wantErr   string
	}{
		{list: "dgxh100, dgxa100:mig ,", wantNodes: []string{"dgxh100-1", "dgxa100-mig-1"}, wantModes: []string{"", "mig"}},
		{list: DefaultTargets, wantNodes: []string{"dgxh100-1", "dgxh100-mig-1", "dgxh100-shared-1", "dgxa100-1", "dgxa100-mig-1", "dgxb200-1", "workstation-1"}},
		{list: "dgxh100=2", wantErr: "without a node count"},
		{list: "dgxh100,dgxh100:whole", wantErr: "given twice"},
		{list: "cray1", wantErr: "cray1"},
		{list: "dgxh100:turbo", wantErr: "turbo"},
		{list: " , ", wantErr: "no target"},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			got, err := ParseTargets(tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTargets error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.wantNodes) {
				t.Fatalf("got %d targets, want %d", len(got), len(tt.wantNodes))
			}
			for i, target := range got {
				if target.Node.Name != tt.wantNodes[i] {
					t.Errorf("target %d node %q, want %q", i, target.Node.Name, tt.wantNodes[i])
				}
				if tt.wantModes != nil && target.GPUMode != tt.wantModes[i] {
					t.Errorf("target %d mode %q, want %q", i, target.GPUMode, tt.wantModes[i])
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"valid", Options{Iterations: 1, Publish: 1, Claims: 1}, ""},
		{"no iterations", Options{Publish: 1, Claims: 1}, "iterations"},
		{"no publish", Options{Iterations: 1, Claims: 1}, "publish"},
		{"negative claims", Options{Iterations: 1, Publish: 1, Claims: -3}, "claims -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestClaimName(t *testing.T) {
	tests := map[string]string{
		"whole GPU":          "whole-gpu-3",
		"CPU set (4 CPUs)":   "cpu-set-4-cpus-3",
		"RDMA NIC":           "rdma-nic-3",
		"  MIG -- partition": "mig-partition-3",
	}
	for kind, want := range tests {
		if got := claimName(kind, 3); got != want {
			t.Errorf("claimName(%q) = %q, want %q", kind, got, want)
		}
	}
}

// TestClaimKindsHaveTargets keeps the claim kinds on default targets, so
// that a default run measures every kind.
func TestClaimKindsHaveTargets(t *testing.T) {
	targets, err := ParseTargets(DefaultTargets)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, target := range targets {
		known[target.Spec] = true
	}
	for _, k := range claimKinds() {
		if !known[k.Target] {
			t.Errorf("claim kind %q runs on %q, which is not a default target", k.Name, k.Target)
		}
	}
}
