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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// profileStep is one step of the sequence both profiles are given: run a
// pod with the requests, or delete an earlier pod.
type profileStep struct {
	pod      string
	requests []resourceapi.DeviceRequest
	delete   bool
}

// profileResult is what one profile made of the sequence on the DGX.
type profileResult struct {
	multi, aligned int
	// idleNUMA counts NUMA nodes with all GPUs idle at the end, idleGPUs
	// GPUs with nothing allocated.
	idleNUMA, idleGPUs int
	placements         []string
}

func (r profileResult) alignment() float64 {
	if r.multi == 0 {
		return 0
	}
	return float64(r.aligned) / float64(r.multi)
}

// TestProfilesCompared runs the same pods on the DGX once with the
// upstream profile and once with hadron's, none with a matchAttribute
// constraint. Three single GPUs fill NUMA node 0 but one; deleting the
// first frees GPU 0. A 3-GPU pod then fits only NUMA node 1, where
// first-fit takes NUMA node 0's two free GPUs and spills; a 2-GPU pod
// with CPUs fits NUMA node 0 exactly, where first-fit takes the GPUs left
// on NUMA node 1 and the first NUMA node's CPUs. hadron orders for the
// pod's request size and keeps both aligned, leaving as much idle.
func TestProfilesCompared(t *testing.T) {
	steps := []profileStep{
		{pod: "one-a", requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 1)}},
		{pod: "one-b", requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 1)}},
		{pod: "one-c", requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 1)}},
		{pod: "one-a", delete: true},
		{pod: "three", requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 3)}},
		{pod: "two-cpus", requests: []resourceapi.DeviceRequest{request("gpu", gpuClass, 2), cpuRequest("cpu", 8)}},
	}
	results := map[string]profileResult{}
	for _, profile := range []string{defaultScheduler, demo.SchedulerName} {
		t.Run(profile, func(t *testing.T) {
			results[profile] = runProfile(t, profile, steps)
		})
	}
	if t.Failed() {
		return
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-18s %-16s %-22s %-10s\n", "profile", "aligned", "NUMA nodes GPUs idle", "GPUs idle")
	for _, profile := range []string{defaultScheduler, demo.SchedulerName} {
		r := results[profile]
		fmt.Fprintf(&table, "%-18s %d/%d (%3.0f%%)     %-22d %-10d\n", profile, r.aligned, r.multi, 100*r.alignment(), r.idleNUMA, r.idleGPUs)
		for _, p := range r.placements {
			fmt.Fprintf(&table, "    %s\n", p)
		}
	}
	t.Log(table.String())

	def, hadron := results[defaultScheduler], results[demo.SchedulerName]
	if hadron.alignment() <= def.alignment() {
		t.Errorf("hadron-scheduler aligned %.0f%% of multi-device pods, default-scheduler %.0f%%; want hadron's higher",
			100*hadron.alignment(), 100*def.alignment())
	}
	if hadron.idleGPUs < def.idleGPUs {
		t.Errorf("hadron-scheduler left %d GPUs idle, default-scheduler %d; want at least as many", hadron.idleGPUs, def.idleGPUs)
	}
}

// runProfile runs the steps with one profile on the DGX, from a node with
// nothing allocated, and deletes its pods and namespace at the end.
func runProfile(t *testing.T, profile string, steps []profileStep) profileResult {
	ns := namespace(t)
	ctx := context.Background()
	live := map[string][]kube.AllocatedDevice{}
	t.Cleanup(func() {
		for name := range live {
			deletePodIfPresent(t, ns, name)
		}
		if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	waitNothingAllocated(t, dgxNode, attrs.GPUDriver)
	waitNothingAllocated(t, dgxNode, attrs.CPUDriver)

	var r profileResult
	for _, s := range steps {
		if s.delete {
			deletePodIfPresent(t, ns, s.pod)
			delete(live, s.pod)
			// The next pod must see the devices free, as the other
			// profile did.
			waitNothingAllocatedIn(t, ns, s.pod)
			continue
		}
		devices := runClaimPod(t, ns, s.pod, profile, s.requests...)
		live[s.pod] = devices
		r.placements = append(r.placements, fmt.Sprintf("%s: %s", s.pod, describeDevices(devices)))
		if len(devices) > 1 {
			r.multi++
			if len(numaNodes(devices)) == 1 {
				r.aligned++
			}
		}
	}

	busy := map[string]bool{}
	for _, devices := range live {
		for _, d := range devices {
			if d.Driver == attrs.GPUDriver {
				busy[d.Device] = true
			}
		}
	}
	gpus := nodeGPUs(t, dgxNode)
	idlePerNUMA := map[int64]bool{}
	for name, numa := range gpus {
		if _, seen := idlePerNUMA[numa]; !seen {
			idlePerNUMA[numa] = true
		}
		if busy[name] {
			idlePerNUMA[numa] = false
		} else {
			r.idleGPUs++
		}
	}
	for _, idle := range idlePerNUMA {
		if idle {
			r.idleNUMA++
		}
	}
	return r
}

// runClaimPod runs a pod with one claim of the requests on the DGX,
// scheduled by the named profile, waits for it to run and returns its
// devices.
func runClaimPod(t *testing.T, ns, name, schedulerName string, requests ...resourceapi.DeviceRequest) []kube.AllocatedDevice {
	t.Helper()
	ctx := context.Background()
	tmpl := &resourceapi.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: requests}}},
	}
	if _, err := env.Client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PodSpec{
			SchedulerName:  schedulerName,
			NodeSelector:   map[string]string{v1.LabelHostname: dgxNode},
			ResourceClaims: []v1.PodResourceClaim{{Name: "devices", ResourceClaimTemplateName: &name}},
			Containers: []v1.Container{{Name: "main", Image: "registry.example.org/research/workspace:latest",
				Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "devices"}}}}},
		},
	}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return podDevices(t, waitPod(t, ns, name, time.Minute, running))
}

func deletePodIfPresent(t *testing.T, ns, name string) {
	t.Helper()
	err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s not gone", ns, name)
	}
}

// waitNothingAllocatedIn waits until no claim generated for the pod holds
// devices: generated claims are released asynchronously after their pod
// is gone.
func waitNothingAllocatedIn(t *testing.T, ns, pod string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		claims, err := env.Client.ResourceV1().ResourceClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range claims.Items {
			if c.Status.Allocation == nil {
				continue
			}
			for _, o := range c.OwnerReferences {
				if o.Kind == "Pod" && o.Name == pod {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("devices of pod %s/%s still allocated", ns, pod)
	}
}

// nodeGPUs maps the names of a node's GPU devices to their NUMA nodes.
func nodeGPUs(t *testing.T, node string) map[string]int64 {
	t.Helper()
	list, err := env.Client.ResourceV1().ResourceSlices().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, s := range list.Items {
		if s.Spec.Driver != attrs.GPUDriver || s.Spec.NodeName == nil || *s.Spec.NodeName != node {
			continue
		}
		for _, d := range s.Spec.Devices {
			if a, ok := d.Attributes[attrs.NUMANode]; ok && a.IntValue != nil {
				out[d.Name] = *a.IntValue
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no GPUs with a NUMA node published for %s", node)
	}
	return out
}
