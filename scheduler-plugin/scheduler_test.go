package schedulerplugin_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/pkg/attrs"
	fx "github.com/hadron-sched/hadron/scheduler-plugin/internal/testfixtures"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

// TestDeviceChoice runs the shipped configuration against fake API objects:
// a DGX-like node (two NUMA nodes of four GPUs) and a workstation with two
// shared GPUs. A first pod takes a GPU of NUMA node 1 and a share of the
// second shared GPU; after it, hadron-scheduler puts the next GPU on NUMA
// node 1 and the next share on the active GPU, where the default profile
// takes the first published ones.
func TestDeviceChoice(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var objects []runtime.Object
	for _, c := range schedtest.ShippedClasses(t) {
		objects = append(objects, c)
	}
	var gpus, shared []fx.GPU
	var whole, shares []resourceapi.Device
	for i := range 8 {
		g := fx.GPU{UUID: fmt.Sprintf("dgx-%d", i), NUMA: i / 4, Idle: 70, Max: 700}
		gpus = append(gpus, g)
		whole = append(whole, fx.WholeGPU(g))
	}
	for i := range 2 {
		g := fx.GPU{UUID: fmt.Sprintf("ws-%d", i), NUMA: 0, Idle: 35, Max: 250}
		shared = append(shared, g)
		shares = append(shares, fx.SharedGPU(g))
	}
	for _, s := range append(fx.Pool(attrs.GPUDriver, "dgx", 3, nil, whole...), fx.Pool(attrs.GPUDriver, "ws", 64, nil, shares...)...) {
		objects = append(objects, s)
	}
	objects = append(objects, schedtest.Node("dgx"), schedtest.Node("ws"))
	client := fake.NewClientset(objects...)
	schedtest.RecordBindings(client)
	versionObjects(client)
	sched := newScheduler(ctx, t, client)
	go sched.Run(ctx)

	numa1 := `device.attributes["resource.kubernetes.io"].numaNode == 1`
	second := fmt.Sprintf(`device.attributes["gpu.hadron.dev"].uuid == %q`, shared[1].UUID)
	steps := []struct {
		pod, scheduler string
		request        resourceapi.DeviceRequest
		want           string
	}{
		{"first-gpu", hadronProfile, fx.Request("gpu", fx.GPUClass, 1, numa1), gpus[4].DeviceName()},
		{"packed-gpu", hadronProfile, fx.Request("gpu", fx.GPUClass, 1), gpus[5].DeviceName()},
		{"default-gpu", defaultProfile, fx.Request("gpu", fx.GPUClass, 1), gpus[0].DeviceName()},
		{"first-share", hadronProfile, withSelector(fx.ShareRequest("gpu", 250), second), shared[1].DeviceName()},
		{"packed-share", hadronProfile, fx.ShareRequest("gpu", 250), shared[1].DeviceName()},
		{"default-share", defaultProfile, fx.ShareRequest("gpu", 250), shared[0].DeviceName()},
	}
	for _, s := range steps {
		claim := fx.Claim(s.pod, "", s.request)
		if _, err := client.ResourceV1().ResourceClaims("default").Create(ctx, claim, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Pods("default").Create(ctx, schedtest.PodWithClaim("default", s.pod, s.scheduler), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := allocatedDevice(ctx, t, client, s.pod); got != s.want {
			t.Errorf("%s (%s): got %s, want %s", s.pod, s.scheduler, got, s.want)
		}
	}
}

func withSelector(r resourceapi.DeviceRequest, expr string) resourceapi.DeviceRequest {
	r.Exactly.Selectors = append(r.Exactly.Selectors, resourceapi.DeviceSelector{CEL: &resourceapi.CELDeviceSelector{Expression: expr}})
	return r
}

// allocatedDevice waits for the claim's allocation and returns its device.
func allocatedDevice(ctx context.Context, t *testing.T, client *fake.Clientset, name string) string {
	t.Helper()
	var device string
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		c, err := client.ResourceV1().ResourceClaims("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || c.Status.Allocation == nil || len(c.Status.Allocation.Devices.Results) == 0 {
			return false, nil
		}
		device = c.Status.Allocation.Devices.Results[0].Device
		return true, nil
	})
	if err != nil {
		t.Fatalf("claim %s was not allocated: %v", name, err)
	}
	return device
}

// versionObjects gives created and updated objects increasing resource
// versions, as the API server does and the fake does not: the scheduler's
// assume cache ignores claims without one, so that its own allocations
// would look free until its informer catches up.
func versionObjects(client *fake.Clientset) {
	var version atomic.Int64
	version.Store(1000)
	client.PrependReactor("*", "*", func(action clienttesting.Action) (bool, runtime.Object, error) {
		if verb := action.GetVerb(); verb != "create" && verb != "update" {
			return false, nil, nil
		}
		a, ok := action.(interface{ GetObject() runtime.Object })
		if !ok {
			return false, nil, nil
		}
		obj := a.GetObject()
		if m, err := meta.Accessor(obj); err == nil {
			m.SetResourceVersion(strconv.FormatInt(version.Add(1), 10))
		}
		return false, nil, nil
	})
}
