// Package demo runs hadron's demo on a local environment: research pods
// that ask for GPUs through ResourceClaimTemplates are scheduled by
// hadron-scheduler, prepared by the simulated nodes' drivers and run; the
// demo prints where each one landed and which devices it got.
package demo

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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
	// CPUs is a number of exclusive, pinned CPUs (cpu.hadron.dev).
	CPUs int64
	// NIC asks for one RDMA NIC (nic.hadron.dev).
	NIC bool
	// SameNUMA constrains all devices of the workload to one NUMA node.
	SameNUMA bool
}

// HasClaim reports whether the workload asks for any device.
func (w Workload) HasClaim() bool { return w.GPUs > 0 || w.CPUs > 0 || w.NIC }

// Workloads are the demo's research pods.
var Workloads = []Workload{
	{Name: "notebook-1gpu", Description: "interactive notebook, 1 GPU", GPUs: 1},
	{Name: "train-2gpu-numa", Description: "training, 2 GPUs on one NUMA node", GPUs: 2, SameNUMA: true},
	{Name: "train-8gpu", Description: "large training, 8 GPUs", GPUs: 8},
	{Name: "train-aligned", Description: "4 GPUs + 32 pinned CPUs + RDMA NIC, one NUMA node", GPUs: 4, CPUs: 32, NIC: true, SameNUMA: true},
	{Name: "cpu-pinned", Description: "16 pinned CPUs on one NUMA node", CPUs: 16},
	{Name: "cpu-analysis", Description: "CPU-only analysis, no claim"},
}

// ClaimTemplate is the ResourceClaimTemplate of a workload with devices.
func (w Workload) ClaimTemplate(namespace string) *resourceapi.ResourceClaimTemplate {
	var spec resourceapi.DeviceClaim
	add := func(name, class string, count int64) *resourceapi.ExactDeviceRequest {
		r := &resourceapi.ExactDeviceRequest{DeviceClassName: class, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: count}
		spec.Requests = append(spec.Requests, resourceapi.DeviceRequest{Name: name, Exactly: r})
		return r
	}
	if w.GPUs > 0 {
		add("gpus", attrs.GPUDriver, w.GPUs)
	}
	if w.CPUs > 0 {
		add("cpus", attrs.CPUDriver, 1).Capacity = &resourceapi.CapacityRequirements{
			Requests: map[resourceapi.QualifiedName]resource.Quantity{attrs.CPUs: *resource.NewQuantity(w.CPUs, resource.DecimalSI)},
		}
	}
	if w.NIC {
		add("nic", attrs.NICDriver, 1)
	}
	if w.SameNUMA {
		var names []string
		for _, r := range spec.Requests {
			names = append(names, r.Name)
		}
		spec.Constraints = []resourceapi.DeviceConstraint{{Requests: names, MatchAttribute: new(resourceapi.FullyQualifiedName(attrs.NUMANode))}}
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
	if w.HasClaim() {
		pod.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "devices", ResourceClaimTemplateName: &w.Name}}
		pod.Spec.Containers[0].Resources.Claims = []v1.ResourceClaim{{Name: "devices"}}
	}
	return pod
}
