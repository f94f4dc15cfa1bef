package localenv_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// profileStep is one step of the sequence both profiles are given: run a
// pod with the requests on node, or delete an earlier pod.
type profileStep struct {
	pod, node string
	requests  []resourceapi.DeviceRequest
	delete    bool
}

func runStep(pod, node string, requests ...resourceapi.DeviceRequest) profileStep {
	return profileStep{pod: pod, node: node, requests: requests}
}

func deleteStep(pod string) profileStep { return profileStep{pod: pod, delete: true} }

// profileResult is what one profile made of the sequence.
type profileResult struct {
	multi, aligned int
	// idleNUMA counts NUMA nodes with all GPUs idle at the end, idleGPUs
	// GPUs with nothing allocated (no claim, no share).
	idleNUMA, idleGPUs int
	placements         []string
}

func (r profileResult) alignment() float64 {
	if r.multi == 0 {
		return 0
	}
	return float64(r.aligned) / float64(r.multi)
}

// TestProfilesCompared runs the same pods once with the upstream profile
// and once with hadron's, none with a matchAttribute constraint.
//
// On the DGX, three single GPUs fill NUMA node 0 but one; deleting the
// first frees GPU 0. A 3-GPU pod then fits only NUMA node 1, where
// first-fit takes NUMA node 0's two free GPUs and spills; a 2-GPU pod with
// CPUs fits NUMA node 0 exactly, where first-fit takes the GPUs left on
// NUMA node 1 and the first NUMA node's CPUs. hadron orders for the pod's
// request size and keeps both aligned. The same pods hold as many whole
// GPUs under either profile, so these leave as many GPUs idle.
//
// On the shared workstation, a full share takes one GPU and a quarter
// share the other; once the full one is deleted, first-fit puts the next
// quarter share on the first, now idle, GPU, while hadron adds it to the
// active one: shares are where placement decides how many GPUs stay idle,
// and hadron must leave more of them idle than first-fit.
func TestProfilesCompared(t *testing.T) {
	steps := []profileStep{
		runStep("one-a", dgxNode, request("gpu", gpuClass, 1)),
		runStep("one-b", dgxNode, request("gpu", gpuClass, 1)),
		runStep("one-c", dgxNode, request("gpu", gpuClass, 1)),
		deleteStep("one-a"),
		runStep("three", dgxNode, request("gpu", gpuClass, 3)),
		runStep("two-cpus", dgxNode, request("gpu", gpuClass, 2), cpuRequest("cpu", 8)),
		runStep("share-full", shrNode, shareRequest(1000)),
		runStep("share-a", shrNode, shareRequest(250)),
		deleteStep("share-full"),
		runStep("share-b", shrNode, shareRequest(250)),
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
	if hadron.idleGPUs <= def.idleGPUs {
		t.Errorf("hadron-scheduler left %d GPUs idle, default-scheduler %d; want hadron's more", hadron.idleGPUs, def.idleGPUs)
	}
}

// runProfile runs the steps with one profile, from nodes with nothing
// allocated, and deletes its pods and namespace at the end.
func runProfile(t *testing.T, profile string, steps []profileStep) profileResult {
	ns := namespace(t)
	live := map[string][]kube.AllocatedDevice{}
	t.Cleanup(func() {
		for name := range live {
			deletePodIfPresent(t, ns, name)
		}
		if err := env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	var nodes []string
	for _, s := range steps {
		if s.node != "" && !slices.Contains(nodes, s.node) {
			nodes = append(nodes, s.node)
			waitNothingAllocated(t, s.node, attrs.GPUDriver, attrs.CPUDriver)
		}
	}

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
		profileDevicesPod(t, ns, s.pod, s.node, profile, resourceapi.DeviceClaim{Requests: s.requests})
		devices := podDevices(t, waitPod(t, ns, s.pod, time.Minute, running))
		live[s.pod] = devices
		r.placements = append(r.placements, fmt.Sprintf("%s: %s", s.pod, describeDevices(devices)))
		if len(devices) > 1 {
			r.multi++
			if len(numaNodes(devices)) == 1 {
				r.aligned++
			}
		}
	}

	// Pool and device name of each GPU some live pod holds.
	busy := map[[2]string]bool{}
	for _, devices := range live {
		for _, d := range devices {
			if d.Driver == attrs.GPUDriver {
				busy[[2]string{d.Pool, d.Device}] = true
			}
		}
	}
	type numaNode struct {
		node string
		numa int64
	}
	idlePerNUMA := map[numaNode]bool{}
	for _, node := range nodes {
		for name, numa := range nodeGPUs(t, node) {
			n := numaNode{node, numa}
			if _, seen := idlePerNUMA[n]; !seen {
				idlePerNUMA[n] = true
			}
			if busy[[2]string{node, name}] {
				idlePerNUMA[n] = false
			} else {
				r.idleGPUs++
			}
		}
	}
	for _, idle := range idlePerNUMA {
		if idle {
			r.idleNUMA++
		}
	}
	return r
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
	list, err := env.Client.ResourceV1().ResourceSlices().List(context.Background(), metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + node + ",spec.driver=" + attrs.GPUDriver,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, s := range list.Items {
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
