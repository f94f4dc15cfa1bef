package workspace

import (
	"fmt"
	"maps"
	"slices"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Names in the rendered objects.
const (
	// SchedulerName is hadron's scheduler, which aligns devices and
	// enforces tenant quotas.
	SchedulerName = "hadron-scheduler"
	// ClaimName is the pod's one claim reference: one claim, so that
	// alignment constraints can span all of the profile's devices.
	ClaimName = "devices"
	// ContainerName is the workspace's container.
	ContainerName = "workspace"
	// ManagedByLabel and ManagedByValue mark what hadron created.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "hadron"
)

// Objects are what a workspace consists of.
type Objects struct {
	Pod *v1.Pod
	// ClaimTemplate is nil for a profile without devices.
	ClaimTemplate *resourceapi.ResourceClaimTemplate
	Service       *v1.Service
}

// Render turns a validated profile into the workspace's objects. The
// pod, its claim template and its Service are all named after the
// workspace; the output depends only on the arguments.
func Render(p Profile, name, namespace string) (Objects, error) {
	if err := ValidateWorkspaceName(name); err != nil {
		return Objects{}, err
	}
	labels := map[string]string{LabelWorkspace: name, LabelProfile: p.Name, ManagedByLabel: ManagedByValue}
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: maps.Clone(labels)}
	}
	var objs Objects

	container := v1.Container{
		Name:      ContainerName,
		Image:     p.Image,
		Resources: p.ResourceRequirements(),
		Env:       []v1.EnvVar{{Name: "HADRON_WORKSPACE", Value: name}, {Name: "HADRON_WORKSPACE_PROFILE", Value: p.Name}},
	}
	for _, port := range p.Ports {
		container.Ports = append(container.Ports, v1.ContainerPort{Name: port.Name, ContainerPort: port.Port, Protocol: v1.ProtocolTCP})
	}
	pod := &v1.Pod{
		ObjectMeta: meta(),
		Spec: v1.PodSpec{
			SchedulerName:      SchedulerName,
			RestartPolicy:      v1.RestartPolicyAlways,
			EnableServiceLinks: ptr.To(false),
		},
	}
	pod.Annotations = PodAnnotations(p)
	if len(p.Devices) > 0 {
		objs.ClaimTemplate = &resourceapi.ResourceClaimTemplate{
			ObjectMeta: meta(),
			Spec: resourceapi.ResourceClaimTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
				Spec:       ClaimSpec(p),
			},
		}
		pod.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: ClaimName, ResourceClaimTemplateName: ptr.To(name)}}
		container.Resources.Claims = []v1.ResourceClaim{{Name: ClaimName}}
	}
	pod.Spec.Containers = []v1.Container{container}
	objs.Pod = pod

	svc := &v1.Service{
		ObjectMeta: meta(),
		Spec:       v1.ServiceSpec{Selector: map[string]string{LabelWorkspace: name}},
	}
	for _, port := range p.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, v1.ServicePort{
			Name: port.Name, Port: port.Port, TargetPort: intstr.FromString(port.Name), Protocol: v1.ProtocolTCP,
		})
	}
	if len(svc.Spec.Ports) == 0 {
		// A Service without ports must be headless; it still records
		// the workspace (and its reclaiming) when the pod is gone.
		svc.Spec.ClusterIP = v1.ClusterIPNone
	}
	objs.Service = svc
	return objs, nil
}

// PodAnnotations are what the idle reclaimer reads on a workspace pod.
func PodAnnotations(p Profile) map[string]string {
	return map[string]string{
		AnnotationIdleTimeout:    p.IdleTimeout().String(),
		AnnotationActivitySignal: p.IdleSignal(),
	}
}

// ClaimSpec is the ResourceClaim of the profile's devices: one request
// per device request, one matchAttribute constraint per alignment.
func ClaimSpec(p Profile) resourceapi.ResourceClaimSpec {
	var spec resourceapi.ResourceClaimSpec
	var all []string
	for _, d := range p.Devices {
		all = append(all, d.Name)
		exact := &resourceapi.ExactDeviceRequest{
			DeviceClassName: d.Class,
			AllocationMode:  resourceapi.DeviceAllocationModeExactCount,
			Count:           d.count(),
		}
		for _, expr := range d.Selectors {
			exact.Selectors = append(exact.Selectors, resourceapi.DeviceSelector{CEL: &resourceapi.CELDeviceSelector{Expression: expr}})
		}
		if len(d.Capacity) > 0 {
			exact.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{}}
			for _, name := range slices.Sorted(maps.Keys(d.Capacity)) {
				// Validated: a bad quantity never gets here.
				q, err := resource.ParseQuantity(d.Capacity[name])
				if err != nil {
					continue
				}
				exact.Capacity.Requests[resourceapi.QualifiedName(name)] = q
			}
		}
		spec.Devices.Requests = append(spec.Devices.Requests, resourceapi.DeviceRequest{Name: d.Name, Exactly: exact})
	}
	for _, a := range p.Align {
		requests := a.Requests
		if len(requests) == 0 {
			requests = all
		}
		spec.Devices.Constraints = append(spec.Devices.Constraints, resourceapi.DeviceConstraint{
			Requests:       slices.Clone(requests),
			MatchAttribute: ptr.To(resourceapi.FullyQualifiedName(a.Attribute)),
		})
	}
	return spec
}

// describeDevices says in a few words what a profile's claim asks for,
// e.g. "4× gpu.hadron.dev, cpu.hadron.dev (cpu.hadron.dev/cpus=32);
// aligned on resource.kubernetes.io/numaNode".
func describeDevices(p Profile) string {
	if len(p.Devices) == 0 {
		return "-"
	}
	out := ""
	for i, d := range p.Devices {
		if i > 0 {
			out += ", "
		}
		if d.count() > 1 {
			out += fmt.Sprintf("%d× ", d.count())
		}
		out += d.Class
		if len(d.Capacity) > 0 {
			out += " ("
			for j, name := range slices.Sorted(maps.Keys(d.Capacity)) {
				if j > 0 {
					out += ", "
				}
				out += name + "=" + d.Capacity[name]
			}
			out += ")"
		}
		if len(d.Selectors) > 0 {
			out += " where `" + joinSelectors(d.Selectors) + "`"
		}
	}
	for _, a := range p.Align {
		out += "; aligned on " + a.Attribute
	}
	return out
}

func joinSelectors(selectors []string) string {
	out := ""
	for i, s := range selectors {
		if i > 0 {
			out += " && "
		}
		out += s
	}
	return out
}
