package gpu

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// migFamily is a DGX machine whose GPUs are all in MIG mode.
func migFamily(t *testing.T, machine string) (*Family, *simhw.NVML) {
	t.Helper()
	m, lib, root := simulated(t, machine, "n1")
	for i := range m.GPUs {
		if err := lib.SetMIGMode(i, true); err != nil {
			t.Fatal(err)
		}
	}
	return NewFamily("n1", lib, root, config.Default(config.ModeMIG)), lib
}

func TestMIGResourcesRespectSliceLimits(t *testing.T) {
	f, _ := migFamily(t, "dgxh100")
	res, err := f.Resources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices := res.Pools["n1"].Slices
	var sets, devices, migs int
	profiles := map[string]bool{}
	for _, s := range slices {
		if len(s.SharedCounters) > 0 && len(s.Devices) > 0 {
			t.Fatal("a slice holds both counters and devices")
		}
		if len(s.SharedCounters) > resourceapi.ResourceSliceMaxCounterSets || len(s.Devices) > resourceapi.ResourceSliceMaxDevicesWithAdvancedFeatures {
			t.Fatalf("slice over the API limits: %d counter sets, %d devices", len(s.SharedCounters), len(s.Devices))
		}
		sets += len(s.SharedCounters)
		for _, d := range s.Devices {
			devices++
			if len(d.ConsumesCounters) != 1 {
				t.Fatalf("%s consumes no counters", d.Name)
			}
			if *d.Attributes[attrs.GPUType].StringValue == attrs.GPUTypeMIG {
				migs++
				profiles[*d.Attributes[attrs.GPUMIGProfile].StringValue] = true
			}
		}
	}
	if sets != 8 || devices-migs != 8 || migs == 0 {
		t.Fatalf("got %d counter sets, %d whole GPUs, %d MIG devices", sets, devices-migs, migs)
	}
	for _, want := range []string{"1g.10gb", "3g.40gb", "7g.80gb"} {
		if !profiles[want] {
			t.Errorf("profile %s not offered (have %v)", want, profiles)
		}
	}
}

func TestMIGModeOffIsAClearError(t *testing.T) {
	_, lib, root := simulated(t, "dgxa100", "n1")
	f := NewFamily("n1", lib, root, config.Default(config.ModeMIG))
	_, err := f.Resources(context.Background())
	if err == nil || !strings.Contains(err.Error(), "MIG mode is off") {
		t.Fatalf("got %v, want an error saying MIG mode is off", err)
	}
}

// migResult finds the allocation result for a profile and placement.
func migResult(t *testing.T, f *Family, gpuIndex int, profile string, start uint32) resourceapi.DeviceRequestAllocationResult {
	t.Helper()
	host, err := f.Host()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Resources(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, info := range f.devices {
		if info.kind == kindMIG && info.gpu.UUID == host.GPUs[gpuIndex].UUID && info.mig.Name == profile && info.placement.Start == start {
			return resourceapi.DeviceRequestAllocationResult{Request: "mig", Driver: attrs.GPUDriver, Pool: "n1", Device: name}
		}
	}
	t.Fatalf("no %s device at %d on GPU %d", profile, start, gpuIndex)
	return resourceapi.DeviceRequestAllocationResult{}
}

func migDeviceCount(t *testing.T, lib nvml.Interface, uuid string) int {
	t.Helper()
	dev, _ := lib.DeviceGetHandleByUUID(uuid)
	instances, err := listMIG(dev)
	if err != nil {
		t.Fatal(err)
	}
	return len(instances)
}

func TestMIGPrepareCreatesAndUnprepareDestroys(t *testing.T) {
	ctx := context.Background()
	f, lib := migFamily(t, "dgxa100")
	r := migResult(t, f, 2, "3g.20gb", 4)
	prepared, err := f.Prepare(ctx, &resourceapi.ResourceClaim{}, []resourceapi.DeviceRequestAllocationResult{r})
	if err != nil {
		t.Fatal(err)
	}
	var rec preparedMIG
	if err := json.Unmarshal(prepared[0].State, &rec); err != nil {
		t.Fatal(err)
	}
	env := strings.Join(prepared[0].Edits.Env, " ")
	if !strings.HasPrefix(rec.UUID, "MIG-") || !strings.Contains(env, rec.UUID) || !strings.Contains(env, "3g.20gb") {
		t.Fatalf("MIG record %+v, env %s", rec, env)
	}
	parent := f.host.GPUs[2].UUID
	if n := migDeviceCount(t, lib, parent); n != 1 {
		t.Fatalf("%d GPU instances after prepare", n)
	}
	// The same placement again is refused by the hardware.
	if _, err := f.Prepare(ctx, &resourceapi.ResourceClaim{}, []resourceapi.DeviceRequestAllocationResult{r}); err == nil {
		t.Fatal("overlapping partition created")
	}
	if err := f.Unprepare(ctx, "uid", []checkpoint.Device{{Pool: "n1", Device: r.Device}}); err != nil {
		t.Fatal(err)
	}
	if n := migDeviceCount(t, lib, parent); n != 0 {
		t.Fatalf("%d GPU instances after unprepare", n)
	}
	if err := f.Unprepare(ctx, "uid", []checkpoint.Device{{Pool: "n1", Device: r.Device}}); err != nil {
		t.Fatalf("second unprepare: %v", err)
	}
}

func TestReconcileDestroysOrphans(t *testing.T) {
	ctx := context.Background()
	f, lib := migFamily(t, "dgxa100")
	kept := migResult(t, f, 0, "1g.5gb", 0)
	orphan := migResult(t, f, 0, "1g.5gb", 1)
	for _, r := range []resourceapi.DeviceRequestAllocationResult{kept, orphan} {
		if _, err := f.Prepare(ctx, &resourceapi.ResourceClaim{}, []resourceapi.DeviceRequestAllocationResult{r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Reconcile(ctx, []checkpoint.Device{{Pool: "n1", Device: kept.Device}}); err != nil {
		t.Fatal(err)
	}
	dev, _ := lib.DeviceGetHandleByUUID(f.host.GPUs[0].UUID)
	instances, err := listMIG(dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(instances) != 1 || instances[0].start != 0 {
		t.Fatalf("after reconcile: %+v", instances)
	}
}

func TestSharedPrepareUsesConsumedCapacityAndConfig(t *testing.T) {
	_, lib, root := simulated(t, "workstation", "ws")
	f := NewFamily("ws", lib, root, config.Default(config.ModeShared))
	tools := &fakeTools{}
	f.SetSharing(tools, t.TempDir())
	res, err := f.Resources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := res.Pools["ws"].Slices[0].Devices[0]
	compute := d.Capacity[attrs.GPUCompute].Value
	if d.AllowMultipleAllocations == nil || !*d.AllowMultipleAllocations || compute.Value() != 1000 {
		t.Fatalf("shared device %+v", d)
	}
	shareID := types.UID("share-1")
	r := resourceapi.DeviceRequestAllocationResult{Request: "gpu", Driver: attrs.GPUDriver, Pool: "ws", Device: d.Name, ShareID: &shareID,
		ConsumedCapacity: map[resourceapi.QualifiedName]resource.Quantity{
			attrs.GPUCompute: resource.MustParse("250"), attrs.GPUMemory: resource.MustParse("10Gi"),
		}}
	claim := &resourceapi.ResourceClaim{Status: resourceapi.ResourceClaimStatus{Allocation: &resourceapi.AllocationResult{
		Devices: resourceapi.DeviceAllocationResult{Results: []resourceapi.DeviceRequestAllocationResult{r}, Config: []resourceapi.DeviceAllocationConfiguration{{
			Source: resourceapi.AllocationConfigSourceClaim, Requests: []string{"gpu"},
			DeviceConfiguration: resourceapi.DeviceConfiguration{Opaque: &resourceapi.OpaqueDeviceConfiguration{
				Driver:     attrs.GPUDriver,
				Parameters: runtime.RawExtension{Raw: []byte(`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"MPS"}}`)},
			}},
		}}},
	}}}
	prepared, err := f.Prepare(context.Background(), claim, claim.Status.Allocation.Devices.Results)
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(prepared[0].Edits.Env, " ")
	for _, want := range []string{"SHARE_MILLI=250", "SHARING=MPS", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=25", "=10240M", "CUDA_MPS_PIPE_DIRECTORY=" + containerMPSPipe} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
	if len(prepared[0].Edits.Mounts) != 1 || len(tools.calls) != 1 || tools.calls[0] != "start-mps" {
		t.Errorf("MPS daemon not started with the pipe mounted: calls %v, mounts %+v", tools.calls, prepared[0].Edits.Mounts)
	}
	// A bad opaque config fails the claim and names the field.
	claim.Status.Allocation.Devices.Config[0].Opaque.Parameters.Raw = []byte(`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"MPS","bogus":1}}`)
	if _, err := f.Prepare(context.Background(), claim, claim.Status.Allocation.Devices.Results); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("got %v, want an error naming the unknown field", err)
	}
}

// fakeTools records what a SharingControl was asked to do.
type fakeTools struct {
	calls []string
	mps   map[string]int
	level map[string]int
}

func (f *fakeTools) SetTimeSlice(_ context.Context, uuid string, level int) error {
	f.calls = append(f.calls, fmt.Sprintf("timeslice=%d", level))
	if f.level == nil {
		f.level = map[string]int{}
	}
	f.level[uuid] = level
	return nil
}

func (f *fakeTools) StartMPS(_ context.Context, uuid, _, _ string) error {
	f.calls = append(f.calls, "start-mps")
	if f.mps == nil {
		f.mps = map[string]int{}
	}
	f.mps[uuid]++
	return nil
}

func (f *fakeTools) StopMPS(_ context.Context, uuid, _ string) error {
	f.calls = append(f.calls, "stop-mps")
	f.mps[uuid]--
	return nil
}

// sharedClaim is a claim for a share of device with an opaque config.
func sharedClaim(uid, device, cfg string) *resourceapi.ResourceClaim {
	shareID := types.UID("share-" + uid)
	r := resourceapi.DeviceRequestAllocationResult{Request: "gpu", Driver: attrs.GPUDriver, Pool: "ws", Device: device, ShareID: &shareID,
		ConsumedCapacity: map[resourceapi.QualifiedName]resource.Quantity{attrs.GPUCompute: resource.MustParse("100")}}
	c := &resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Status: resourceapi.ResourceClaimStatus{Allocation: &resourceapi.AllocationResult{
		Devices: resourceapi.DeviceAllocationResult{Results: []resourceapi.DeviceRequestAllocationResult{r}},
	}}}
	if cfg != "" {
		c.Status.Allocation.Devices.Config = []resourceapi.DeviceAllocationConfiguration{{
			Source: resourceapi.AllocationConfigSourceClaim,
			DeviceConfiguration: resourceapi.DeviceConfiguration{Opaque: &resourceapi.OpaqueDeviceConfiguration{
				Driver: attrs.GPUDriver, Parameters: runtime.RawExtension{Raw: []byte(`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":` + cfg + `}`)},
			}},
		}}
	}
	return c
}

// TestSharingStrategiesAreAppliedPerGPU checks the GPU-wide side of
// sharing: the first time-sliced share sets the interval, a share asking
// for another interval is refused, the last one resets it; one MPS daemon
// per GPU lives from the first MPS share to the last.
func TestSharingStrategiesAreAppliedPerGPU(t *testing.T) {
	ctx := context.Background()
	_, lib, root := simulated(t, "workstation", "ws")
	f := NewFamily("ws", lib, root, config.Default(config.ModeShared))
	tools := &fakeTools{}
	f.SetSharing(tools, t.TempDir())
	host, err := f.Host()
	if err != nil {
		t.Fatal(err)
	}
	uuid := host.GPUs[0].UUID
	dev := DeviceName(uuid)
	prepare := func(c *resourceapi.ResourceClaim) ([]checkpoint.Device, error) {
		p, err := f.Prepare(ctx, c, c.Status.Allocation.Devices.Results)
		if err != nil {
			return nil, err
		}
		return []checkpoint.Device{{Pool: "ws", Device: dev, State: p[0].State}}, nil
	}
	long := `{"strategy":"TimeSlicing","timeSlicing":{"interval":"Long"}}`
	a, err := prepare(sharedClaim("a", dev, long))
	if err != nil {
		t.Fatal(err)
	}
	b, err := prepare(sharedClaim("b", dev, long))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prepare(sharedClaim("c", dev, `{"strategy":"TimeSlicing","timeSlicing":{"interval":"Short"}}`)); err == nil || !strings.Contains(err.Error(), "Long") {
		t.Fatalf("got %v, want a refusal naming the GPU's interval", err)
	}
	m1, err := prepare(sharedClaim("m1", dev, `{"strategy":"MPS"}`))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := prepare(sharedClaim("m2", dev, `{"strategy":"MPS"}`))
	if err != nil {
		t.Fatal(err)
	}
	if tools.level[uuid] != 3 || tools.mps[uuid] != 1 {
		t.Fatalf("interval level %d, MPS daemons %d; calls %v", tools.level[uuid], tools.mps[uuid], tools.calls)
	}
	for _, devices := range [][]checkpoint.Device{a, m1} {
		if err := f.Unprepare(ctx, "", devices); err != nil {
			t.Fatal(err)
		}
	}
	if tools.level[uuid] != 3 || tools.mps[uuid] != 1 {
		t.Fatalf("released too early: level %d, MPS %d", tools.level[uuid], tools.mps[uuid])
	}
	// After a restart the counts come back from the checkpoint.
	g := NewFamily("ws", lib, root, config.Default(config.ModeShared))
	g.SetSharing(tools, t.TempDir())
	if err := g.Reconcile(ctx, append(append([]checkpoint.Device{}, b...), m2...)); err != nil {
		t.Fatal(err)
	}
	for _, devices := range [][]checkpoint.Device{b, m2} {
		if err := g.Unprepare(ctx, "", devices); err != nil {
			t.Fatal(err)
		}
	}
	if tools.level[uuid] != 0 || tools.mps[uuid] != 0 {
		t.Fatalf("not released after the last share: level %d, MPS %d; calls %v", tools.level[uuid], tools.mps[uuid], tools.calls)
	}
}
