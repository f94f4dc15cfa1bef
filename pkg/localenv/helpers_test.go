package localenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// gpuPod creates a ResourceClaimTemplate for count GPUs (optionally on one
// NUMA node) and a pod using it, pinned to node when node is not empty.
func gpuPod(t *testing.T, ns, name, node string, count int64, sameNUMA bool) *v1.Pod {
	t.Helper()
	w := demo.Workload{Name: name, GPUs: count, SameNUMA: sameNUMA}
	ctx := context.Background()
	if _, err := env.Client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, w.ClaimTemplate(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := w.Pod(ns)
	if node != "" {
		pod.Spec.NodeSelector = map[string]string{v1.LabelHostname: node}
	}
	created, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func waitPod(t *testing.T, ns, name string, timeout time.Duration, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var pod *v1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		pod, err = env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return cond(pod), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s: condition not reached in %s; status: %+v", ns, name, timeout, pod.Status)
	}
	return pod
}

func running(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning }

func unschedulable(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// unscheduledMessage is the message of the pod's PodScheduled condition
// while the pod is not scheduled.
func unscheduledMessage(p *v1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

func deletePodAndWait(t *testing.T, ns, name string) {
	t.Helper()
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPodGone(t, ns, name)
}

// deletePodIfPresent is deletePodAndWait for a pod that may be gone
// already.
func deletePodIfPresent(t *testing.T, ns, name string) {
	t.Helper()
	err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	waitPodGone(t, ns, name)
}

func waitPodGone(t *testing.T, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s not gone", ns, name)
	}
}

// DeviceClasses of hadron's drivers.
const (
	gpuClass    = "gpu.hadron.dev"
	migClass    = "mig.gpu.hadron.dev"
	sharedClass = "shared.gpu.hadron.dev"
	cpuClass    = "cpu.hadron.dev"
	nicClass    = "nic.hadron.dev"
)

func request(name, class string, count int64, cel ...string) resourceapi.DeviceRequest {
	r := resourceapi.DeviceRequest{Name: name, Exactly: &resourceapi.ExactDeviceRequest{
		DeviceClassName: class, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: count,
	}}
	for _, expr := range cel {
		r.Exactly.Selectors = append(r.Exactly.Selectors, resourceapi.DeviceSelector{CEL: &resourceapi.CELDeviceSelector{Expression: expr}})
	}
	return r
}

// shareRequest asks, as request "gpu", for milli thousandths of one
// shared GPU.
func shareRequest(milli int64, cel ...string) resourceapi.DeviceRequest {
	r := request("gpu", sharedClass, 1, cel...)
	r.Exactly.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
		attrs.GPUCompute: *resource.NewQuantity(milli, resource.DecimalSI),
	}}
	return r
}

// onUUID selects the GPU (whole or shared) with the given UUID.
func onUUID(uuid string) string {
	return fmt.Sprintf(`device.attributes["gpu.hadron.dev"].uuid == %q`, uuid)
}

// claimPod creates a pod pinned to node whose one claim has the given
// requests.
func claimPod(t *testing.T, ns, name, node string, requests ...resourceapi.DeviceRequest) *v1.Pod {
	t.Helper()
	return devicesPod(t, ns, name, node, resourceapi.DeviceClaim{Requests: requests})
}

// devicesPod creates a claim template with the given device claim and a
// pod using it, pinned to node, for hadron-scheduler.
func devicesPod(t *testing.T, ns, name, node string, devices resourceapi.DeviceClaim) *v1.Pod {
	t.Helper()
	return profileDevicesPod(t, ns, name, node, demo.SchedulerName, devices)
}

// profileDevicesPod is devicesPod for the named scheduler profile.
func profileDevicesPod(t *testing.T, ns, name, node, schedulerName string, devices resourceapi.DeviceClaim) *v1.Pod {
	t.Helper()
	ctx := context.Background()
	tmpl := &resourceapi.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: devices}},
	}
	if _, err := env.Client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := env.Client.CoreV1().Pods(ns).Create(ctx, templatePod(ns, name, node, schedulerName, name), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// templatePod is a pod pinned to node whose one claim comes from the
// namespace's claim template.
func templatePod(ns, name, node, schedulerName, template string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PodSpec{
			SchedulerName:  schedulerName,
			NodeSelector:   map[string]string{v1.LabelHostname: node},
			ResourceClaims: []v1.PodResourceClaim{{Name: "devices", ResourceClaimTemplateName: &template}},
			Containers: []v1.Container{{Name: "main", Image: "registry.example.org/research/workspace:latest",
				Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "devices"}}}}},
		},
	}
}

// podClaim returns the pod's (single) ResourceClaim.
func podClaim(t *testing.T, pod *v1.Pod) *resourceapi.ResourceClaim {
	t.Helper()
	for _, name := range kube.PodClaimNames(pod) {
		claim, err := env.Client.ResourceV1().ResourceClaims(pod.Namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return claim
	}
	t.Fatalf("pod %s has no claim", pod.Name)
	return nil
}

func podDevices(t *testing.T, pod *v1.Pod) []kube.AllocatedDevice {
	t.Helper()
	devices, err := kube.PodDevices(context.Background(), env.Client, pod)
	if err != nil {
		t.Fatal(err)
	}
	return devices
}

func numaNodes(devices []kube.AllocatedDevice) map[int64]bool {
	out := map[int64]bool{}
	for _, d := range devices {
		if n, ok := d.Int(attrs.NUMANode); ok {
			out[n] = true
		}
	}
	return out
}

func describeDevices(devices []kube.AllocatedDevice) string {
	var parts []string
	for _, d := range devices {
		n, _ := d.Int(attrs.NUMANode)
		parts = append(parts, fmt.Sprintf("%s/%s(numa %d)", d.Pool, d.Device, n))
	}
	return strings.Join(parts, ", ")
}
