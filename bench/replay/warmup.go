package replay

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// warmupNamespace holds the warm-up pod; it belongs to no tenant.
const warmupNamespace = "replay-warmup"

// lastDeviceSlice picks the slice the replay creates last, which the
// warm-up pod allocates from: the last one with devices. Nil when no
// node has devices.
func lastDeviceSlice(nodeSlices [][]resourceapi.ResourceSlice) *resourceapi.ResourceSlice {
	for i := len(nodeSlices) - 1; i >= 0; i-- {
		for j := len(nodeSlices[i]) - 1; j >= 0; j-- {
			if len(nodeSlices[i][j].Spec.Devices) > 0 {
				return &nodeSlices[i][j]
			}
		}
	}
	return nil
}

// warmupObjects are a claim for one device of the slice created last and
// a pod on its node using it.
func warmupObjects(last *resourceapi.ResourceSlice, schedulerName string) (*resourceapi.ResourceClaim, *v1.Pod) {
	req := &resourceapi.ExactDeviceRequest{AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1}
	switch last.Spec.Driver {
	case attrs.GPUDriver:
		req.DeviceClassName = sharedGPUClass
		req.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
			attrs.GPUCompute: *resource.NewQuantity(1, resource.DecimalSI),
		}}
	default:
		// cpu.hadron.dev and nic.hadron.dev name their classes after
		// their drivers.
		req.DeviceClassName = last.Spec.Driver
	}
	ev := trace.Event{ID: "warmup"}
	claim := &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: ev.ID, Namespace: warmupNamespace},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{Name: claimRequest, Exactly: req}},
		}},
	}
	pod := podObject(ev, warmupNamespace, schedulerName, claim)
	pod.Spec.NodeSelector = map[string]string{v1.LabelHostname: ptr.Deref(last.Spec.NodeName, "")}
	return claim, pod
}

// warmUp schedules one pod on the device of the slice created last and
// removes it again. Informers deliver each kind of object in the order it
// was created, so once the scheduler has placed that pod it has seen
// every node and every slice: the first trace pod meets the whole
// cluster, on every run.
func (r *replayer) warmUp(ctx context.Context, last *resourceapi.ResourceSlice) error {
	if last == nil {
		return nil
	}
	if _, err := r.client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: warmupNamespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", warmupNamespace, err)
	}
	claim, pod := warmupObjects(last, r.policy.ProfileName)
	if _, err := r.client.ResourceV1().ResourceClaims(warmupNamespace).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create warm-up claim: %w", err)
	}
	created, err := r.client.CoreV1().Pods(warmupNamespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create warm-up pod: %w", err)
	}
	node, failure, err := r.waitVerdict(ctx, created)
	if err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	if node == "" {
		return fmt.Errorf("warm-up pod on node %s unschedulable: %s", ptr.Deref(last.Spec.NodeName, ""), failure)
	}
	return r.remove(ctx, warmupNamespace, pod.Name, true)
}
