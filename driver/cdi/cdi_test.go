package cdi

import (
	"encoding/json"
	"os"
	"testing"

	cdispec "tags.cncf.io/container-device-interface/specs-go"
)

func TestWriteAndRemove(t *testing.T) {
	w, err := NewWriter(t.TempDir(), "gpu.hadron.dev")
	if err != nil {
		t.Fatal(err)
	}
	devs := []Device{{Name: "gpu-a", Edits: cdispec.ContainerEdits{Env: []string{"HADRON_GPU=a"}}}}
	if err := w.Write("uid-1", devs); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(w.SpecPath("uid-1"))
	if err != nil {
		t.Fatal(err)
	}
	var spec cdispec.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Kind != "k8s.gpu.hadron.dev/claim" || len(spec.Devices) != 1 || spec.Devices[0].Name != "uid-1-gpu-a" {
		t.Fatalf("unexpected spec: %+v", spec)
	}
	if got, want := w.DeviceID("uid-1", "gpu-a"), "k8s.gpu.hadron.dev/claim=uid-1-gpu-a"; got != want {
		t.Fatalf("DeviceID = %q, want %q", got, want)
	}
	if err := w.Remove("uid-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.SpecPath("uid-1")); !os.IsNotExist(err) {
		t.Fatalf("spec still there: %v", err)
	}
	if err := w.Remove("uid-1"); err != nil {
		t.Fatalf("second remove must succeed: %v", err)
	}
}

func TestWriteRejectsInvalidSpec(t *testing.T) {
	w, err := NewWriter(t.TempDir(), "gpu.hadron.dev")
	if err != nil {
		t.Fatal(err)
	}
	// Spaces and slashes are not allowed in CDI device names.
	bad := []Device{{Name: "gpu a/b", Edits: cdispec.ContainerEdits{Env: []string{"X=1"}}}}
	if err := w.Write("uid-2", bad); err == nil {
		t.Fatal("invalid device name accepted")
	}
	if _, err := os.Stat(w.SpecPath("uid-2")); !os.IsNotExist(err) {
		t.Fatalf("invalid spec left on disk: %v", err)
	}
}
