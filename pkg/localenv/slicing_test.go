package localenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// gpuUUID returns the UUID of the GPU with the given NVML index on a node,
// from its published whole-GPU or shared device, waiting for the driver to
// publish it.
func gpuUUID(t *testing.T, node string, index int64) string {
	t.Helper()
	var uuid string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		slices, err := env.Client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return false, nil
		}
		for _, s := range slices.Items {
			for _, d := range s.Spec.Devices {
				if i := d.Attributes[attrs.GPUIndex].IntValue; i != nil && *i == index && d.Attributes[attrs.GPUUUID].StringValue != nil {
					uuid = *d.Attributes[attrs.GPUUUID].StringValue
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no GPU %d published for %s", index, node)
	}
	return uuid
}

// configuredClaimPod is claimPod with device configuration in the claim.
func configuredClaimPod(t *testing.T, ns, name, node string, config []resourceapi.DeviceClaimConfiguration, requests ...resourceapi.DeviceRequest) *v1.Pod {
	t.Helper()
	return devicesPod(t, ns, name, node, resourceapi.DeviceClaim{Requests: requests, Config: config})
}

// migCount is how many MIG devices exist on a simulated GPU.
func migCount(t *testing.T, n *nodesim.Node, uuid string) int {
	t.Helper()
	dev, ret := n.Hardware().NVML.DeviceGetHandleByUUID(uuid)
	if ret != nvml.SUCCESS {
		t.Fatal(nvml.ErrorString(ret))
	}
	slots, ret := dev.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		t.Fatal(nvml.ErrorString(ret))
	}
	count := 0
	for i := 0; i < slots; i++ {
		if _, ret := dev.GetMigDeviceHandleByIndex(i); ret == nvml.SUCCESS {
			count++
		}
	}
	return count
}

func onGPU(uuid string) string {
	return fmt.Sprintf(`device.attributes["gpu.hadron.dev"].parentUUID == %q`, uuid)
}

// TestMIGFillsAGPUExactly fills an A100 with seven 1g.5gb partitions (its
// maximal mix), then shows that neither an eighth 1g nor the whole GPU can
// be allocated there until the partitions are released.
func TestMIGFillsAGPUExactly(t *testing.T) {
	ns := namespace(t)
	node := env.Sim.Node(migNode)
	uuid := gpuUUID(t, migNode, 0)
	oneG := `device.attributes["gpu.hadron.dev"].migProfile == "1g.5gb"`

	full := waitPod(t, ns, claimPod(t, ns, "seven", migNode, request("mig", migClass, 7, oneG, onGPU(uuid))).Name, time.Minute, running)
	if got := migCount(t, node, uuid); got != 7 {
		t.Fatalf("%d MIG devices on the GPU after preparing 7", got)
	}
	starts := map[int64]bool{}
	for _, d := range podDevices(t, full) {
		s, _ := d.Int(attrs.GPUMIGPlacementStart)
		starts[s] = true
	}
	if len(starts) != 7 {
		t.Fatalf("placements not distinct: %v", starts)
	}

	eighth := claimPod(t, ns, "eighth", migNode, request("mig", migClass, 1, oneG, onGPU(uuid)))
	whole := claimPod(t, ns, "whole", migNode, request("gpu", gpuClass, 1, onUUID(uuid)))
	waitPod(t, ns, eighth.Name, time.Minute, unschedulable)
	waitPod(t, ns, whole.Name, time.Minute, unschedulable)

	deletePodAndWait(t, ns, eighth.Name)
	deletePodAndWait(t, ns, full.Name)
	if got := migCount(t, node, uuid); got != 0 {
		t.Fatalf("%d MIG devices left after unprepare", got)
	}
	// With the partitions gone the whole GPU can be had: in MIG mode it is
	// handed out as the full-size partition.
	waitPod(t, ns, whole.Name, 2*time.Minute, running)
	if got := migCount(t, node, uuid); got != 1 {
		t.Fatalf("whole MIG-mode GPU: %d MIG devices, want the one full-size partition", got)
	}
	deletePodAndWait(t, ns, whole.Name)
}

// TestMIGCrashRecovery leaves the node as a driver killed between creating
// a GPU instance and completing its checkpoint would, plus a partition no
// claim knows: after the restart neither remains and a claim for the same
// placement prepares cleanly.
func TestMIGCrashRecovery(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	node := env.Sim.Node(migNode)
	uuid := gpuUUID(t, migNode, 1)
	lib := node.Hardware().NVML
	dev, ret := lib.DeviceGetHandleByUUID(uuid)
	if ret != nvml.SUCCESS {
		t.Fatal(nvml.ErrorString(ret))
	}
	create := func(profile int, start uint32) {
		info, ret := dev.GetGpuInstanceProfileInfo(profile)
		if ret != nvml.SUCCESS {
			t.Fatal(nvml.ErrorString(ret))
		}
		gi, ret := dev.CreateGpuInstanceWithPlacement(&info, &nvml.GpuInstancePlacement{Start: start, Size: 1})
		if ret != nvml.SUCCESS {
			t.Fatalf("create GPU instance at %d: %s", start, nvml.ErrorString(ret))
		}
		ci, ret := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if ret == nvml.SUCCESS {
			_, _ = gi.CreateComputeInstance(&ci)
		}
	}

	node.StopDriver()
	// The interrupted prepare: intent recorded, GPU instance created.
	store := checkpoint.NewStore(node.CheckpointPath(attrs.GPUDriver))
	cp, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	migName := fmt.Sprintf("gpu-%s-mig-1g5gb-p3", strings.TrimPrefix(strings.ToLower(uuid), "gpu-"))
	cp.Claims["11111111-2222-3333-4444-555555555555"] = &checkpoint.Claim{Namespace: ns, Name: "interrupted", State: checkpoint.PrepareStarted,
		Devices: []checkpoint.Device{{Requests: []string{"mig"}, Pool: migNode, Device: migName}}}
	if err := store.Save(cp); err != nil {
		t.Fatal(err)
	}
	create(nvml.GPU_INSTANCE_PROFILE_1_SLICE, 3)
	// A partition that belongs to nobody.
	create(nvml.GPU_INSTANCE_PROFILE_1_SLICE, 5)
	if got := migCount(t, node, uuid); got < 1 {
		t.Fatalf("test set-up: %d MIG devices", got)
	}

	if err := node.StartDriver(ctx); err != nil {
		t.Fatal(err)
	}
	if got := migCount(t, node, uuid); got != 0 {
		t.Fatalf("%d MIG devices remain after restart", got)
	}
	if cp, err := store.Load(); err != nil || len(cp.Claims) != 0 {
		t.Fatalf("checkpoint after recovery: %+v, %v", cp, err)
	}
	sameSlot := []string{`device.attributes["gpu.hadron.dev"].migProfile == "1g.5gb"`, onGPU(uuid),
		`device.attributes["gpu.hadron.dev"].migPlacementStart == 3`}
	pod := waitPod(t, ns, claimPod(t, ns, "after-crash", migNode, request("mig", migClass, 1, sameSlot...)).Name, time.Minute, running)
	if got := migCount(t, node, uuid); got != 1 {
		t.Fatalf("%d MIG devices after preparing one", got)
	}
	deletePodAndWait(t, ns, pod.Name)
}

// TestSharedGPUNeverOvercommits hands out a shared GPU's 1000 milli in two
// shares and refuses the next one until a share is released.
func TestSharedGPUNeverOvercommits(t *testing.T) {
	ns := namespace(t)
	uuid := gpuUUID(t, shrNode, 0)
	share := func(name string, milli int64) *v1.Pod {
		return claimPod(t, ns, name, shrNode, shareRequest(milli, onUUID(uuid)))
	}
	big := waitPod(t, ns, share("six-tenths", 600).Name, time.Minute, running)
	small := waitPod(t, ns, share("four-tenths", 400).Name, time.Minute, running)
	for _, p := range []*v1.Pod{big, small} {
		claim := podClaim(t, p)
		r := claim.Status.Allocation.Devices.Results[0]
		if r.ShareID == nil || r.ConsumedCapacity[attrs.GPUCompute] == (resource.Quantity{}) {
			t.Fatalf("%s: allocation is not a share: %+v", p.Name, r)
		}
	}
	next := share("one-more", 50)
	waitPod(t, ns, next.Name, time.Minute, unschedulable)
	deletePodAndWait(t, ns, big.Name)
	waitPod(t, ns, next.Name, 2*time.Minute, running)
	deletePodAndWait(t, ns, small.Name)
	deletePodAndWait(t, ns, next.Name)
}

// TestMPSShareRunsADaemon gives a shared GPU an MPS claim: the node's MPS
// control daemon for that GPU runs while the claim is prepared and stops
// with it.
func TestMPSShareRunsADaemon(t *testing.T) {
	ns := namespace(t)
	node := env.Sim.Node(shrNode)
	uuid := gpuUUID(t, shrNode, 1)
	r := request("gpu", sharedClass, 1, onUUID(uuid))
	mps := []resourceapi.DeviceClaimConfiguration{{
		Requests: []string{"gpu"},
		DeviceConfiguration: resourceapi.DeviceConfiguration{Opaque: &resourceapi.OpaqueDeviceConfiguration{
			Driver:     attrs.GPUDriver,
			Parameters: runtime.RawExtension{Raw: []byte(`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"MPS"}}`)},
		}},
	}}
	created := configuredClaimPod(t, ns, "mps", shrNode, mps, r)
	waitPod(t, ns, created.Name, time.Minute, running)
	if _, ok := node.Hardware().Sim.MPSRunning(uuid); !ok {
		t.Fatal("no MPS daemon for the GPU while an MPS share is prepared")
	}
	deletePodAndWait(t, ns, created.Name)
	if dir, ok := node.Hardware().Sim.MPSRunning(uuid); ok {
		t.Fatalf("MPS daemon still running in %s after the last MPS share ended", dir)
	}
}
