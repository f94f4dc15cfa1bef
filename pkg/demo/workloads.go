// Package demo runs hadron's demo on a local environment: research pods
// that ask for GPUs through ResourceClaimTemplates are scheduled by
// hadron-scheduler, prepared by the simulated nodes' drivers and run; the
// demo prints where each one landed and which devices it got.
package demo

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// SchedulerName is the hadron-scheduler profile research pods use.
const SchedulerName = "hadron-scheduler"

// Workload is one demo pod and the devices it asks for.
type Workload struct {
	Name        string
	Description string
	GPUs        int64
	// SameNUMA constrains all GPUs to one NUMA node.
	SameNUMA bool
}

// Workloads are the demo's research pods.
var Workloads = []Workload{
	{Name: "notebook-1gpu", Description: "interactive notebook, 1 GPU", GPUs: 1},
	{Name: "train-2gpu-numa", Description: "training, 2 GPUs on one NUMA node", GPUs: 2, SameNUMA: true},
	{Name: "train-8gpu", Description: "large training, 8 GPUs", GPUs: 8},
	{Name: "cpu-analysis", Description: "CPU-only analysis, no claim"},
}

// ClaimTemplate is the ResourceClaimTemplate of a GPU workload.
func (w Workload) ClaimTemplate(namespace string) *resourceapi.ResourceClaimTemplate {
	req := resourceapi.DeviceRequest{
		Name: "gpus",
		Exactly: &resourceapi.ExactDeviceRequest{
			DeviceClassName: attrs.GPUDriver,
			AllocationMode:  resourceapi.DeviceAllocationModeExactCount,
			Count:           w.GPUs,
		},
	}
	spec := resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{req}}
	if w.SameNUMA {
		spec.Constraints = []resourceapi.DeviceConstraint{{Requests: []string{"gpus"}, MatchAttribute: new(resourceapi.FullyQualifiedName(attrs.NUMANode))}}
	}
	return &resourceapi.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: namespace},
		Spec:       resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: spec}},
	}
}

// Pod is the workload's pod.
func (w Workload) Pod(namespace string) *v1.Pod {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "hadron-demo"}},
		Spec: v1.PodSpec{
			SchedulerName: SchedulerName,
			Containers: []v1.Container{{
				Name:  "main",
				Image: "registry.example.org/research/workspace:latest",
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
					v1.ResourceCPU: *resourceQuantity("1"), v1.ResourceMemory: *resourceQuantity("1Gi"),
				}},
			}},
		},
	}
	if w.GPUs > 0 {
		pod.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "gpus", ResourceClaimTemplateName: &w.Name}}
		pod.Spec.Containers[0].Resources.Claims = []v1.ResourceClaim{{Name: "gpus"}}
	}
	return pod
}
