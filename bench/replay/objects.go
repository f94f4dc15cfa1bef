package replay

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Names the replay gives Kubernetes objects.
const (
	tenantLabel = "capsule.clastix.io/tenant"
	// sharedGPUClass is the DeviceClass of shares of shared GPUs, which
	// every replayed GPU is (see SharedGPUConfig).
	sharedGPUClass = "shared.gpu.hadron.dev"
	claimRequest   = "gpus"
	// wholeMilli is a whole GPU's compute.
	wholeMilli = 1000
	// podsPerNode is the pod capacity of every node, the kubelet's
	// default.
	podsPerNode = 110
	// pauseImage is never pulled: there is no kubelet.
	pauseImage = "registry.k8s.io/pause:3.10"
)

// nodeObject is a scheduling-only node: capacity from the trace, Ready,
// without taints.
func nodeObject(n trace.ClusterNode) *v1.Node {
	labels := maps.Clone(n.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1.LabelHostname] = n.Trace.Name
	res := v1.ResourceList{
		v1.ResourceCPU:    *resource.NewMilliQuantity(n.Trace.CPUMilli, resource.DecimalSI),
		v1.ResourceMemory: *resource.NewQuantity(n.Trace.MemoryMiB<<20, resource.BinarySI),
		v1.ResourcePods:   *resource.NewQuantity(podsPerNode, resource.DecimalSI),
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Trace.Name, Labels: labels},
		Status: v1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			Conditions: []v1.NodeCondition{{
				Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
				Message: "scheduling-only node of a trace replay", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
		},
	}
}

// namespaceObject is a tenant's namespace.
func namespaceObject(t trace.Tenant) *v1.Namespace {
	return &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Namespace, Labels: map[string]string{tenantLabel: t.Name}}}
}

// tenantObject is a Capsule Tenant carrying the quota labels.
func tenantObject(t trace.Tenant) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("capsule.clastix.io/v1beta2")
	u.SetKind("Tenant")
	u.SetName(t.Name)
	u.SetLabels(maps.Clone(t.Quota))
	u.Object["spec"] = map[string]any{}
	return u
}

// modelSelector turns trace GPU models into product names of the
// cluster's GPUs: which product names the nodes of each trace model
// publish.
type modelSelector map[string][]string

// expression is the CEL selector accepting the GPUs of the given trace
// models; empty for any GPU.
func (ms modelSelector) expression(models []string) string {
	if len(models) == 0 {
		return ""
	}
	var products []string
	for _, m := range models {
		for _, p := range ms[m] {
			if !slices.Contains(products, p) {
				products = append(products, p)
			}
		}
	}
	slices.Sort(products)
	if len(products) == 0 {
		// No GPU of these models in the cluster: nothing matches, and the
		// pod fails for capacity, as it would in the trace's cluster.
		return "false"
	}
	quoted := make([]string, len(products))
	for i, p := range products {
		quoted[i] = strconv.Quote(p)
	}
	return fmt.Sprintf("device.attributes[%q].%s in [%s]", attrs.GPUDriver,
		strings.TrimPrefix(string(attrs.GPUProductName), attrs.GPUDriver+"/"), strings.Join(quoted, ", "))
}

// claimObject is the ResourceClaim of a GPU pod, nil for a CPU-only pod.
// Whole GPUs ask shared GPUs for all their compute, a share for its
// milli-GPU (see SharedGPUConfig).
func claimObject(ev trace.Event, namespace string, models modelSelector) *resourceapi.ResourceClaim {
	d := demandOf(ev.Pod)
	count, milli := int64(1), d.shareMilli
	switch {
	case d.wholeGPUs > 0:
		count, milli = int64(d.wholeGPUs), wholeMilli
	case d.shareMilli == 0:
		return nil
	}
	req := &resourceapi.ExactDeviceRequest{
		DeviceClassName: sharedGPUClass,
		AllocationMode:  resourceapi.DeviceAllocationModeExactCount,
		Count:           count,
		Capacity: &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
			attrs.GPUCompute: *resource.NewQuantity(milli, resource.DecimalSI),
		}},
	}
	if expr := models.expression(ev.Pod.GPUSpec); expr != "" {
		req.Selectors = []resourceapi.DeviceSelector{{CEL: &resourceapi.CELDeviceSelector{Expression: expr}}}
	}
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: ev.ID, Namespace: namespace},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{Name: claimRequest, Exactly: req}},
		}},
	}
}

// podObject is the pod of an arrival, using claim when there is one.
func podObject(ev trace.Event, namespace, schedulerName string, claim *resourceapi.ResourceClaim) *v1.Pod {
	requests := v1.ResourceList{}
	if ev.Pod.CPUMilli > 0 {
		requests[v1.ResourceCPU] = *resource.NewMilliQuantity(ev.Pod.CPUMilli, resource.DecimalSI)
	}
	if ev.Pod.MemoryMiB > 0 {
		requests[v1.ResourceMemory] = *resource.NewQuantity(ev.Pod.MemoryMiB<<20, resource.BinarySI)
	}
	container := v1.Container{Name: "main", Image: pauseImage, Resources: v1.ResourceRequirements{Requests: requests}}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: ev.ID, Namespace: namespace},
		Spec: v1.PodSpec{
			SchedulerName:                 schedulerName,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
	if claim != nil {
		container.Resources.Claims = []v1.ResourceClaim{{Name: claimRequest}}
		pod.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: claimRequest, ResourceClaimName: ptr.To(claim.Name)}}
	}
	pod.Spec.Containers = []v1.Container{container}
	return pod
}
