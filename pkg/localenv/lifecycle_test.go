package localenv_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	drapb "k8s.io/kubelet/pkg/apis/dra/v1"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/cdi"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

func cdiWriter(t *testing.T, n *nodesim.Node) *cdi.Writer {
	t.Helper()
	w, err := cdi.NewWriter(n.CDIDir(), attrs.GPUDriver)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// loadCheckpoint reads the checkpoint of one of the node's drivers.
func loadCheckpoint(t *testing.T, n *nodesim.Node, driver string) *checkpoint.Checkpoint {
	t.Helper()
	cp, err := checkpoint.NewStore(n.CheckpointPath(driver)).Load()
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestWholeGPULifecycle follows one claim through the whole path: slice
// published → claim allocated by the scheduler → prepared over gRPC by the
// kubelet's DRA code → CDI spec names the allocated GPU → pod Running →
// pod deleted → unprepared → CDI spec gone, checkpoint empty.
func TestWholeGPULifecycle(t *testing.T) {
	ns := namespace(t)
	node := env.Sim.Node(dgxNode)
	created := time.Now()
	pod := gpuPod(t, ns, "one-gpu", dgxNode, 1, false)
	pod = waitPod(t, ns, pod.Name, time.Minute, running)
	t.Logf("pod created → Running in %s", time.Since(created).Round(time.Millisecond))

	claim := podClaim(t, pod)
	if claim.Status.Allocation == nil || len(claim.Status.Allocation.Devices.Results) != 1 {
		t.Fatalf("claim not allocated one device: %+v", claim.Status)
	}
	devices := podDevices(t, pod)
	dev := devices[0]
	uuid, ok := dev.String(attrs.GPUUUID)
	if dev.Driver != attrs.GPUDriver || dev.Pool != dgxNode || !ok {
		t.Fatalf("allocated %+v", dev)
	}

	raw, err := os.ReadFile(cdiWriter(t, node).SpecPath(claim.UID))
	if err != nil {
		t.Fatalf("CDI spec of the prepared claim: %v", err)
	}
	var spec cdispec.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Devices) != 1 || spec.Devices[0].Name != string(claim.UID)+"-"+dev.Device ||
		!strings.Contains(strings.Join(spec.Devices[0].ContainerEdits.Env, " "), uuid) {
		t.Fatalf("CDI spec does not name the allocated GPU %s (%s): %s", dev.Device, uuid, raw)
	}
	if entry := loadCheckpoint(t, node, attrs.GPUDriver).Claims[claim.UID]; entry == nil || entry.State != checkpoint.PrepareCompleted {
		t.Fatalf("checkpoint entry for the claim: %+v", entry)
	}

	deletePodAndWait(t, ns, pod.Name)
	if _, err := os.Stat(cdiWriter(t, node).SpecPath(claim.UID)); !os.IsNotExist(err) {
		t.Fatalf("CDI spec still on disk after the pod ended: %v", err)
	}
	if cp := loadCheckpoint(t, node, attrs.GPUDriver); len(cp.Claims) != 0 {
		t.Fatalf("checkpoint not empty: %+v", cp.Claims)
	}
}

// TestGPUsOnOneNUMANode asks for two GPUs constrained to one NUMA node,
// then for more than any NUMA node of the machine has.
func TestGPUsOnOneNUMANode(t *testing.T) {
	ns := namespace(t)
	pod := waitPod(t, ns, gpuPod(t, ns, "pair", dgxNode, 2, true).Name, time.Minute, running)
	devices := podDevices(t, pod)
	if len(devices) != 2 || len(numaNodes(devices)) != 1 {
		t.Fatalf("want 2 GPUs on one NUMA node, got %s", describeDevices(devices))
	}

	// A DGX H100 has four GPUs per NUMA node: five cannot be aligned.
	impossible := gpuPod(t, ns, "five-aligned", dgxNode, 5, true)
	pending := waitPod(t, ns, impossible.Name, time.Minute, unschedulable)
	if pending.Spec.NodeName != "" {
		t.Fatalf("impossible claim was scheduled to %s", pending.Spec.NodeName)
	}
	deletePodAndWait(t, ns, pod.Name)
	deletePodAndWait(t, ns, impossible.Name)
}

// TestDriverRestartKeepsPreparedClaims restarts a node's driver while a
// claim is prepared: the claim survives, a repeated prepare over the
// kubelet's gRPC client returns the same devices, unpreparing an unknown
// claim succeeds, and the claim is still cleaned up when its pod ends.
func TestDriverRestartKeepsPreparedClaims(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	node := env.Sim.Node(wsNode)
	pod := waitPod(t, ns, gpuPod(t, ns, "survivor", wsNode, 1, false).Name, time.Minute, running)
	claim := podClaim(t, pod)
	before := loadCheckpoint(t, node, attrs.GPUDriver).Claims[claim.UID]
	if before == nil {
		t.Fatal("claim not in checkpoint")
	}

	node.StopDriver()
	if err := node.StartDriver(ctx); err != nil {
		t.Fatal(err)
	}
	plugin, err := node.DRAPlugin(attrs.GPUDriver)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := plugin.NodePrepareResources(ctx, &drapb.NodePrepareResourcesRequest{Claims: []*drapb.Claim{{
		Namespace: ns, Uid: string(claim.UID), Name: claim.Name,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Claims[string(claim.UID)]
	if got == nil || got.Error != "" || len(got.Devices) != 1 || got.Devices[0].CdiDeviceIds[0] != before.Devices[0].CDIDeviceIDs[0] {
		t.Fatalf("repeated prepare after restart: %+v, want CDI %v", got, before.Devices[0].CDIDeviceIDs)
	}
	unknown, err := plugin.NodeUnprepareResources(ctx, &drapb.NodeUnprepareResourcesRequest{Claims: []*drapb.Claim{{
		Namespace: ns, Uid: "00000000-0000-0000-0000-000000000000", Name: "never-prepared",
	}}})
	if err != nil || unknown.Claims["00000000-0000-0000-0000-000000000000"].GetError() != "" {
		t.Fatalf("unprepare of an unknown claim: %v %+v", err, unknown)
	}

	deletePodAndWait(t, ns, pod.Name)
	if cp := loadCheckpoint(t, node, attrs.GPUDriver); cp.Claims[claim.UID] != nil {
		t.Fatal("claim still prepared after its pod ended")
	}
}

// TestFailedPrepareIsRetried stops a node's driver so that prepare fails:
// the pod must not run, an Event must name the failure, and the kubelet
// code must retry until the driver is back.
func TestFailedPrepareIsRetried(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	node := env.Sim.Node(wsNode)
	node.StopDriver()
	restarted := false
	defer func() {
		if !restarted {
			_ = node.StartDriver(ctx)
		}
	}()
	pod := gpuPod(t, ns, "retried", wsNode, 1, false)
	var message string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		events, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod.Name})
		if err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Reason == nodesim.ReasonFailedPrepare {
				message = e.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal("no FailedPrepareDynamicResources event")
	}
	if !strings.Contains(message, attrs.GPUDriver) {
		t.Fatalf("event does not name the driver: %q", message)
	}
	if p, _ := env.Client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); p.Status.Phase == v1.PodRunning {
		t.Fatal("pod runs although its claim could not be prepared")
	}
	t.Logf("prepare failed as expected: %s", message)
	if err := node.StartDriver(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitPod(t, ns, pod.Name, time.Minute, running)
	deletePodAndWait(t, ns, pod.Name)
}
