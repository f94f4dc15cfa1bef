package localenv_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// defaultScheduler is the upstream profile, kept for comparison.
const defaultScheduler = v1.DefaultSchedulerName

// TestHadronPacksNUMANode: after a first GPU pod on the DGX's NUMA node 1,
// hadron-scheduler gives the next single-GPU pod a GPU on NUMA node 1 too,
// keeping NUMA node 0 whole; the default profile takes the first published
// GPU, on NUMA node 0.
func TestHadronPacksNUMANode(t *testing.T) {
	ns := namespace(t)
	waitNothingAllocated(t, dgxNode, attrs.GPUDriver)
	numa1 := `device.attributes["resource.kubernetes.io"].numaNode == 1`

	first := placedDevice(t, ns, "first", dgxNode, demo.SchedulerName, request("gpu", gpuClass, 1, numa1))
	if n, _ := first.Int(attrs.NUMANode); n != 1 {
		t.Fatalf("first pod got %s on NUMA node %d, want 1", first.Device, n)
	}
	packed := placedDevice(t, ns, "packed", dgxNode, demo.SchedulerName, request("gpu", gpuClass, 1))
	if n, _ := packed.Int(attrs.NUMANode); n != 1 {
		t.Errorf("hadron-scheduler put the second GPU pod on %s, NUMA node %d; want NUMA node 1, where the first one is", packed.Device, n)
	}
	upstream := placedDevice(t, ns, "upstream", dgxNode, defaultScheduler, request("gpu", gpuClass, 1))
	if n, _ := upstream.Int(attrs.NUMANode); n != 0 {
		t.Errorf("default-scheduler put the third GPU pod on %s, NUMA node %d; want the first published GPU, on NUMA node 0", upstream.Device, n)
	}
}

// TestHadronSharesActiveGPU: after a first share of the shared
// workstation's second GPU, hadron-scheduler puts the next share on that
// active GPU, leaving the idle one idle; the default profile takes the
// first published GPU.
func TestHadronSharesActiveGPU(t *testing.T) {
	ns := namespace(t)
	waitNothingAllocated(t, shrNode, attrs.GPUDriver)
	second := gpuUUID(t, shrNode, 1)

	first := placedDevice(t, ns, "first", shrNode, demo.SchedulerName, shareRequest(250, onUUID(second)))
	if u, _ := first.String(attrs.GPUUUID); u != second {
		t.Fatalf("first share on %s, want GPU %s", first.Device, second)
	}
	packed := placedDevice(t, ns, "packed", shrNode, demo.SchedulerName, shareRequest(250))
	if u, _ := packed.String(attrs.GPUUUID); u != second {
		t.Errorf("hadron-scheduler put the second share on %s; want the active GPU %s", packed.Device, second)
	}
	upstream := placedDevice(t, ns, "upstream", shrNode, defaultScheduler, shareRequest(250))
	if u, _ := upstream.String(attrs.GPUUUID); u != gpuUUID(t, shrNode, 0) {
		t.Errorf("default-scheduler put the third share on %s; want the first published GPU", upstream.Device)
	}
}

// placedDevice runs a pod with one claim of one request on node, scheduled
// by the named profile, waits for it to run and returns its device. The pod
// is deleted when the test ends, after the ones created after it.
func placedDevice(t *testing.T, ns, name, node, schedulerName string, r resourceapi.DeviceRequest) kube.AllocatedDevice {
	t.Helper()
	profileDevicesPod(t, ns, name, node, schedulerName, resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{r}})
	t.Cleanup(func() { deletePodAndWait(t, ns, name) })
	devices := podDevices(t, waitPod(t, ns, name, time.Minute, running))
	if len(devices) != 1 {
		t.Fatalf("pod %s got devices %s, want one", name, describeDevices(devices))
	}
	return devices[0]
}

// waitNothingAllocated waits until no claim holds a device of the drivers
// on node: pods of earlier tests are deleted, but their claims are
// deallocated asynchronously.
func waitNothingAllocated(t *testing.T, node string, drivers ...string) {
	t.Helper()
	var held []string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		claims, err := env.Client.ResourceV1().ResourceClaims("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		held = held[:0]
		for _, c := range claims.Items {
			if c.Status.Allocation == nil {
				continue
			}
			for _, r := range c.Status.Allocation.Devices.Results {
				if r.Pool == node && slices.Contains(drivers, r.Driver) {
					held = append(held, c.Namespace+"/"+c.Name+":"+r.Device)
				}
			}
		}
		return len(held) == 0, nil
	})
	if err != nil {
		t.Fatalf("devices of %s on %s still allocated: %s", strings.Join(drivers, ", "), node, strings.Join(held, ", "))
	}
}
