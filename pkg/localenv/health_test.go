package localenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/driver/gpu"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// publishedDevice returns a node's published GPU device by name.
func publishedDevice(ctx context.Context, node, name string) (*resourceapi.Device, error) {
	slices, err := env.Client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	for _, s := range slices.Items {
		for i := range s.Spec.Devices {
			if s.Spec.Devices[i].Name == name {
				return &s.Spec.Devices[i], nil
			}
		}
	}
	return nil, fmt.Errorf("device %s not published", name)
}

func tainted(d *resourceapi.Device) string {
	for _, t := range d.Taints {
		if t.Key == attrs.GPUUnhealthyTaint {
			return t.Value
		}
	}
	return ""
}

// TestXIDTaintsTheGPU injects a critical XID into a GPU: its device gets a
// NoSchedule taint naming the error, a claim for it cannot be allocated,
// an application XID changes nothing, and once the GPU recovers (after the
// node's configured quiet period) the taint goes and the claim lands.
func TestXIDTaintsTheGPU(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	node := env.Sim.Node(wsNode)
	uuid := gpuUUID(t, wsNode, 1)
	name := gpu.DeviceName(uuid)

	if err := node.Hardware().Sim.InjectXID(1, 13); err != nil { // an application error
		t.Fatal(err)
	}
	if err := node.Hardware().Sim.InjectXID(1, 79); err != nil { // GPU fell off the bus
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := publishedDevice(ctx, wsNode, name)
		return err == nil && tainted(d) == "XID-79", nil
	})
	if err != nil {
		t.Fatalf("device %s not tainted after XID 79", name)
	}
	pod := claimPod(t, ns, "on-broken-gpu", wsNode, request("gpu", gpuClass, 1, onUUID(uuid)))
	waitPod(t, ns, pod.Name, time.Minute, unschedulable)
	other, err := publishedDevice(ctx, wsNode, gpu.DeviceName(gpuUUID(t, wsNode, 0)))
	if err != nil || tainted(other) != "" {
		t.Fatalf("the healthy GPU was tainted too: %v %+v", err, other)
	}
	waitPod(t, ns, pod.Name, 2*time.Minute, running)
	if d, err := publishedDevice(ctx, wsNode, name); err != nil || tainted(d) != "" {
		t.Fatalf("recovered GPU still tainted: %v %+v", err, d)
	}
	deletePodAndWait(t, ns, pod.Name)
}
