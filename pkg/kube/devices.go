package kube

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// AllocatedDevice is one device allocated to one of a pod's claims, with
// the attributes its driver published.
type AllocatedDevice struct {
	Claim      string
	Request    string
	Driver     string
	Pool       string
	Device     string
	Attributes map[resourceapi.QualifiedName]resourceapi.DeviceAttribute
}

// Int returns an integer attribute, if present.
func (d AllocatedDevice) Int(name resourceapi.QualifiedName) (int64, bool) {
	if a, ok := d.Attributes[name]; ok && a.IntValue != nil {
		return *a.IntValue, true
	}
	return 0, false
}

// String returns a string attribute, if present.
func (d AllocatedDevice) String(name resourceapi.QualifiedName) (string, bool) {
	if a, ok := d.Attributes[name]; ok && a.StringValue != nil {
		return *a.StringValue, true
	}
	return "", false
}

// PodClaimNames maps each of the pod's claim references to the name of its
// ResourceClaim (generated ones come from the pod status).
func PodClaimNames(pod *v1.Pod) map[string]string {
	names := map[string]string{}
	for _, c := range pod.Spec.ResourceClaims {
		if c.ResourceClaimName != nil {
			names[c.Name] = *c.ResourceClaimName
		}
	}
	for _, s := range pod.Status.ResourceClaimStatuses {
		if s.ResourceClaimName != nil {
			names[s.Name] = *s.ResourceClaimName
		}
	}
	return names
}

// PodDevices lists the devices allocated to a pod's claims, in claim and
// allocation order, with their published attributes.
func PodDevices(ctx context.Context, client kubernetes.Interface, pod *v1.Pod) ([]AllocatedDevice, error) {
	slices, err := client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ResourceSlices: %w", err)
	}
	published := map[[3]string]resourceapi.Device{}
	for _, s := range slices.Items {
		for _, d := range s.Spec.Devices {
			published[[3]string{s.Spec.Driver, s.Spec.Pool.Name, d.Name}] = d
		}
	}
	var out []AllocatedDevice
	claimNames := PodClaimNames(pod)
	for _, podClaim := range pod.Spec.ResourceClaims {
		name, ok := claimNames[podClaim.Name]
		if !ok {
			continue
		}
		claim, err := client.ResourceV1().ResourceClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get ResourceClaim %s/%s: %w", pod.Namespace, name, err)
		}
		if claim.Status.Allocation == nil {
			continue
		}
		for _, r := range claim.Status.Allocation.Devices.Results {
			out = append(out, AllocatedDevice{
				Claim: name, Request: r.Request, Driver: r.Driver, Pool: r.Pool, Device: r.Device,
				Attributes: published[[3]string{r.Driver, r.Pool, r.Device}].Attributes,
			})
		}
	}
	return out, nil
}
