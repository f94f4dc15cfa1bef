package driver

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/cdi"
	"github.com/hadron-sched/hadron/driver/checkpoint"
)

const testDriver = "test.hadron.dev"

// fakeFamily records calls and fails on demand.
type fakeFamily struct {
	prepareErr   error
	unprepareErr error
	badEnv       bool
	prepared     int
	unprepared   [][]checkpoint.Device
}

func (f *fakeFamily) DriverName() string { return testDriver }
func (f *fakeFamily) Resources(context.Context) (resourceslice.DriverResources, error) {
	return resourceslice.DriverResources{}, nil
}
func (f *fakeFamily) Prepare(_ context.Context, _ *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]PreparedDevice, error) {
	f.prepared++
	if f.prepareErr != nil {
		return nil, f.prepareErr
	}
	var out []PreparedDevice
	for _, r := range results {
		env := "DEVICE=" + r.Device
		if f.badEnv {
			env = "no-equals-sign"
		}
		out = append(out, PreparedDevice{Result: r, Edits: cdispec.ContainerEdits{Env: []string{env}}, State: json.RawMessage(`{"dev":"` + r.Device + `"}`)})
	}
	return out, nil
}
func (f *fakeFamily) Unprepare(_ context.Context, _ types.UID, devices []checkpoint.Device) error {
	f.unprepared = append(f.unprepared, devices)
	return f.unprepareErr
}

func newTestClaims(t *testing.T, f *fakeFamily) *claims {
	t.Helper()
	dir := t.TempDir()
	writer, err := cdi.NewWriter(filepath.Join(dir, "cdi"), testDriver)
	if err != nil {
		t.Fatal(err)
	}
	store := checkpoint.NewStore(filepath.Join(dir, "checkpoint.json"))
	return &claims{family: f, store: store, cdi: writer, state: checkpoint.New()}
}

func claim(uid, name string, devices ...string) *resourceapi.ResourceClaim {
	c := &resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: name, Namespace: "ns"}}
	c.Status.Allocation = &resourceapi.AllocationResult{}
	for _, d := range devices {
		c.Status.Allocation.Devices.Results = append(c.Status.Allocation.Devices.Results,
			resourceapi.DeviceRequestAllocationResult{Request: "req", Driver: testDriver, Pool: "node", Device: d})
	}
	// A device of another driver in the same claim must be left alone.
	c.Status.Allocation.Devices.Results = append(c.Status.Allocation.Devices.Results,
		resourceapi.DeviceRequestAllocationResult{Request: "other", Driver: "other.example.com", Pool: "node", Device: "x"})
	return c
}

func onDisk(t *testing.T, c *claims) *checkpoint.Checkpoint {
	t.Helper()
	cp, err := c.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestPrepareIsIdempotentAndUnprepareCleansUp(t *testing.T) {
	f := &fakeFamily{}
	c := newTestClaims(t, f)
	ctx := context.Background()
	first, err := c.prepare(ctx, claim("u1", "c1", "gpu-a", "gpu-b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].DeviceName != "gpu-a" || first[0].CDIDeviceIDs[0] != "k8s.test.hadron.dev/claim=u1-gpu-a" {
		t.Fatalf("unexpected devices %+v", first)
	}
	again, err := c.prepare(ctx, claim("u1", "c1", "gpu-a", "gpu-b"))
	if err != nil {
		t.Fatal(err)
	}
	if f.prepared != 1 || len(again) != 2 || again[1].CDIDeviceIDs[0] != first[1].CDIDeviceIDs[0] {
		t.Fatalf("repeated prepare: family called %d times, devices %+v", f.prepared, again)
	}
	entry := onDisk(t, c).Claims["u1"]
	if entry == nil || entry.State != checkpoint.PrepareCompleted || string(entry.Devices[0].State) != `{"dev":"gpu-a"}` {
		t.Fatalf("checkpoint entry %+v", entry)
	}
	if _, err := os.Stat(c.cdi.SpecPath("u1")); err != nil {
		t.Fatalf("CDI spec missing: %v", err)
	}
	if err := c.unprepare(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if len(onDisk(t, c).Claims) != 0 {
		t.Fatal("checkpoint not empty after unprepare")
	}
	if _, err := os.Stat(c.cdi.SpecPath("u1")); !os.IsNotExist(err) {
		t.Fatalf("CDI spec still there: %v", err)
	}
	if len(f.unprepared) != 1 || string(f.unprepared[0][1].State) != `{"dev":"gpu-b"}` {
		t.Fatalf("family unprepare got %+v", f.unprepared)
	}
	if err := c.unprepare(ctx, "never-prepared"); err != nil {
		t.Fatalf("unprepare of an unknown claim: %v", err)
	}
}

func TestPrepareIsAllOrNothing(t *testing.T) {
	tests := map[string]struct {
		family  *fakeFamily
		wantErr string
	}{
		"family fails":        {&fakeFamily{prepareErr: errors.New("boom")}, "boom"},
		"CDI spec rejected":   {&fakeFamily{badEnv: true}, "CDI"},
		"roll-back fails too": {&fakeFamily{prepareErr: errors.New("boom"), unprepareErr: errors.New("stuck")}, "stuck"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newTestClaims(t, tc.family)
			_, err := c.prepare(context.Background(), claim("u1", "c1", "gpu-a"))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
			}
			if len(tc.family.unprepared) != 1 {
				t.Fatalf("family not asked to roll back: %+v", tc.family.unprepared)
			}
			if _, err := os.Stat(c.cdi.SpecPath("u1")); !os.IsNotExist(err) {
				t.Fatalf("CDI spec left behind: %v", err)
			}
			cp := onDisk(t, c)
			if tc.family.unprepareErr == nil && len(cp.Claims) != 0 {
				t.Fatalf("checkpoint keeps a failed claim: %+v", cp.Claims)
			}
			if tc.family.unprepareErr != nil && (cp.Claims["u1"] == nil || cp.Claims["u1"].State != checkpoint.PrepareStarted) {
				t.Fatalf("a claim whose roll-back failed must stay recorded as started: %+v", cp.Claims)
			}
		})
	}
}

func TestPrepareRefusesDeviceOfAnotherClaim(t *testing.T) {
	c := newTestClaims(t, &fakeFamily{})
	ctx := context.Background()
	if _, err := c.prepare(ctx, claim("u1", "c1", "gpu-a")); err != nil {
		t.Fatal(err)
	}
	_, err := c.prepare(ctx, claim("u2", "c2", "gpu-a"))
	if err == nil || !strings.Contains(err.Error(), "already prepared for claim ns/c1") {
		t.Fatalf("got %v, want refusal naming the other claim", err)
	}
	shared := claim("u3", "c3", "gpu-a")
	share := types.UID("share-1")
	shared.Status.Allocation.Devices.Results[0].ShareID = &share
	if _, err := c.prepare(ctx, shared); err != nil {
		t.Fatalf("a share of a device is not exclusive use: %v", err)
	}
}

func TestRecoverRollsBackInterruptedPrepare(t *testing.T) {
	f := &fakeFamily{}
	c := newTestClaims(t, f)
	c.state.Claims["done"] = &checkpoint.Claim{Namespace: "ns", Name: "done", State: checkpoint.PrepareCompleted,
		Devices: []checkpoint.Device{{Pool: "node", Device: "gpu-a"}}}
	c.state.Claims["half"] = &checkpoint.Claim{Namespace: "ns", Name: "half", State: checkpoint.PrepareStarted,
		Devices: []checkpoint.Device{{Pool: "node", Device: "gpu-b"}}}
	if err := c.store.Save(c.state); err != nil {
		t.Fatal(err)
	}
	if err := c.recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp := onDisk(t, c)
	if cp.Claims["half"] != nil || cp.Claims["done"] == nil {
		t.Fatalf("after recovery: %+v", cp.Claims)
	}
	if len(f.unprepared) != 1 || f.unprepared[0][0].Device != "gpu-b" {
		t.Fatalf("family roll-back got %+v", f.unprepared)
	}
}

func TestStartRejectsUnreadableCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{
		NodeName: "n1", Client: fake.NewClientset(), Family: &fakeFamily{},
		PluginDir: filepath.Join(dir, "plugin"), RegistrarDir: filepath.Join(dir, "reg"), CDIDir: filepath.Join(dir, "cdi"),
		CheckpointPath: path,
	})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("got %v, want an error naming the unreadable checkpoint", err)
	}
}
