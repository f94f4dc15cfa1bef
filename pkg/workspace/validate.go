package workspace

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/cel/environment"
	dracel "k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Limits of a profile, so that a typo ("count: 400") is an error rather
// than a workspace that never starts.
const (
	maxDeviceCount = 64
	// maxNameLength keeps workspace and profile names usable as label
	// values and in generated object names.
	maxNameLength = 40
)

// containerResources are the resource names a profile may request for
// its container; devices come through Devices.
var containerResources = []string{string(v1.ResourceCPU), string(v1.ResourceMemory), string(v1.ResourceEphemeralStorage)}

// Validator checks profiles against the DeviceClasses a cluster has.
type Validator struct {
	// Classes maps each known DeviceClass to the capacity names a request
	// of that class may consume.
	Classes map[string][]string
}

// HadronClasses are hadron's DeviceClasses (deploy/deviceclasses) and the
// capacities their devices publish (docs/attributes.md).
func HadronClasses() map[string][]string {
	return map[string][]string{
		"gpu.hadron.dev":        {string(attrs.GPUMemory)},
		"mig.gpu.hadron.dev":    {string(attrs.GPUMemory)},
		"shared.gpu.hadron.dev": {string(attrs.GPUCompute), string(attrs.GPUMemory)},
		"cpu.hadron.dev":        {string(attrs.CPUs)},
		"nic.hadron.dev":        {string(attrs.NICBandwidth)},
	}
}

// DefaultValidator knows hadron's DeviceClasses.
func DefaultValidator() *Validator { return &Validator{Classes: HadronClasses()} }

// gpuClass tells whether a class hands out GPUs or parts of them, which
// the gpu-utilization activity signal needs.
func gpuClass(class string) bool {
	return class == attrs.GPUDriver || strings.HasSuffix(class, "."+attrs.GPUDriver)
}

// Validate checks a list of profiles; the aggregated error names every
// bad field.
func (v *Validator) Validate(profiles []Profile) error {
	var errs field.ErrorList
	root := field.NewPath("profiles")
	if len(profiles) == 0 {
		errs = append(errs, field.Required(root, "at least one profile"))
	}
	seen := map[string]bool{}
	for i, p := range profiles {
		path := root.Index(i)
		if p.Name != "" {
			path = root.Key(p.Name)
		}
		if seen[p.Name] && p.Name != "" {
			errs = append(errs, field.Duplicate(root.Index(i).Child("name"), p.Name))
		}
		seen[p.Name] = true
		errs = append(errs, v.validateProfile(p, path)...)
	}
	return errs.ToAggregate()
}

func (v *Validator) validateProfile(p Profile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateName(p.Name, path.Child("name"))...)
	if strings.TrimSpace(p.DisplayName) == "" {
		errs = append(errs, field.Required(path.Child("displayName"), "one line for menus"))
	}
	if strings.TrimSpace(p.Description) == "" {
		errs = append(errs, field.Required(path.Child("description"), "a sentence saying what the profile is for"))
	}
	switch {
	case p.Image == "":
		errs = append(errs, field.Required(path.Child("image"), "a container image such as quay.io/jupyter/scipy-notebook:latest"))
	case strings.ContainsAny(p.Image, " \t\r\n"):
		errs = append(errs, field.Invalid(path.Child("image"), p.Image, "must not contain whitespace"))
	}
	errs = append(errs, validateResources(p.Resources, path.Child("resources"))...)
	devErrs, names, hasGPU := v.validateDevices(p.Devices, path.Child("devices"))
	errs = append(errs, devErrs...)
	errs = append(errs, validateAlign(p.Align, names, path.Child("align"))...)
	errs = append(errs, validateIdle(p.Idle, hasGPU, path.Child("idle"))...)
	errs = append(errs, validatePorts(p.Ports, path.Child("ports"))...)
	return errs
}

// validateName checks a profile or workspace name.
func validateName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "a DNS label such as gpu-full")}
	}
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Label(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(name) > maxNameLength {
		errs = append(errs, field.TooLong(path, name, maxNameLength))
	}
	return errs
}

// ValidateWorkspaceName checks the name a user gives a workspace; the pod,
// its Service and its claim template are all named after it.
func ValidateWorkspaceName(name string) error {
	return validateName(name, field.NewPath("workspace")).ToAggregate()
}

func validateResources(r Resources, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	requests := validateQuantities(r.Requests, path.Child("requests"), &errs)
	limits := validateQuantities(r.Limits, path.Child("limits"), &errs)
	for _, name := range []string{string(v1.ResourceCPU), string(v1.ResourceMemory)} {
		if _, ok := r.Requests[name]; !ok {
			errs = append(errs, field.Required(path.Child("requests").Key(name), "the scheduler places the workspace by its cpu and memory requests"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(limits)) {
		limit := limits[name]
		if req, ok := requests[name]; ok && limit.Cmp(req) < 0 {
			errs = append(errs, field.Invalid(path.Child("limits").Key(name), r.Limits[name],
				fmt.Sprintf("must not be less than the request (%s)", r.Requests[name])))
		}
	}
	return errs
}

// validateQuantities parses a resource map, reporting bad names and values.
func validateQuantities(in map[string]string, path *field.Path, errs *field.ErrorList) map[string]resource.Quantity {
	out := map[string]resource.Quantity{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		if !slices.Contains(containerResources, name) {
			*errs = append(*errs, field.NotSupported(path.Key(name), name, containerResources))
			continue
		}
		q, ok := positiveQuantity(in[name], path.Key(name), errs)
		if ok {
			out[name] = q
		}
	}
	return out
}

// positiveQuantity parses a quantity that must be above zero.
func positiveQuantity(value string, path *field.Path, errs *field.ErrorList) (resource.Quantity, bool) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		*errs = append(*errs, field.Invalid(path, value, "must be a quantity such as 2, 500m, 16Gi"))
		return q, false
	}
	if q.Sign() <= 0 {
		*errs = append(*errs, field.Invalid(path, value, "must be greater than zero"))
		return q, false
	}
	return q, true
}

// validateDevices checks the device requests and returns their names and
// whether any asks for a GPU.
func (v *Validator) validateDevices(devices []DeviceRequest, path *field.Path) (field.ErrorList, []string, bool) {
	var errs field.ErrorList
	var names []string
	hasGPU := false
	for i, d := range devices {
		p := path.Index(i)
		for _, msg := range utilvalidation.IsDNS1123Label(d.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, msg))
		}
		if slices.Contains(names, d.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		names = append(names, d.Name)
		capacities, known := v.Classes[d.Class]
		if !known {
			errs = append(errs, field.NotSupported(p.Child("class"), d.Class, slices.Sorted(maps.Keys(v.Classes))))
		}
		hasGPU = hasGPU || gpuClass(d.Class)
		if d.Count < 0 || d.Count > maxDeviceCount {
			errs = append(errs, field.Invalid(p.Child("count"), d.Count, fmt.Sprintf("must be from 1 to %d (0 or absent means 1)", maxDeviceCount)))
		}
		for _, name := range slices.Sorted(maps.Keys(d.Capacity)) {
			cp := p.Child("capacity").Key(name)
			if known && !slices.Contains(capacities, name) {
				errs = append(errs, field.NotSupported(cp, name, capacities))
				continue
			}
			positiveQuantity(d.Capacity[name], cp, &errs)
		}
		for j, expr := range d.Selectors {
			errs = append(errs, validateSelector(expr, p.Child("selectors").Index(j))...)
		}
	}
	return errs, names, hasGPU
}

// validateSelector compiles a CEL selector the way the API server does
// for a new claim, so that a typo fails here rather than at create.
func validateSelector(expr string, path *field.Path) field.ErrorList {
	if strings.TrimSpace(expr) == "" {
		return field.ErrorList{field.Required(path, "a CEL expression such as device.attributes[\"gpu.hadron.dev\"].migProfile == \"1g.10gb\"")}
	}
	compiler := dracel.GetCompiler(dracel.Features{EnableConsumableCapacity: true})
	result := compiler.CompileCELExpression(expr, dracel.Options{EnvType: ptr.To(environment.NewExpressions)})
	if result.Error != nil {
		return field.ErrorList{field.Invalid(path, expr, result.Error.Detail)}
	}
	return nil
}

func validateAlign(align []Alignment, requests []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, a := range align {
		p := path.Index(i)
		errs = append(errs, validateQualifiedAttribute(a.Attribute, p.Child("attribute"))...)
		if len(requests) == 0 {
			errs = append(errs, field.Invalid(p, a.Attribute, "the profile has no devices to align"))
		}
		var seen []string
		for j, r := range a.Requests {
			if !slices.Contains(requests, r) {
				errs = append(errs, field.NotFound(p.Child("requests").Index(j), r))
			}
			if slices.Contains(seen, r) {
				errs = append(errs, field.Duplicate(p.Child("requests").Index(j), r))
			}
			seen = append(seen, r)
		}
	}
	return errs
}

// validateQualifiedAttribute checks a fully qualified attribute name:
// <domain>/<identifier>, e.g. resource.kubernetes.io/numaNode.
func validateQualifiedAttribute(name string, path *field.Path) field.ErrorList {
	domain, id, ok := strings.Cut(name, "/")
	if !ok {
		return field.ErrorList{field.Invalid(path, name, "must be <domain>/<name>, e.g. resource.kubernetes.io/numaNode")}
	}
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(domain) {
		errs = append(errs, field.Invalid(path, name, "domain: "+msg))
	}
	for _, msg := range utilvalidation.IsCIdentifier(id) {
		errs = append(errs, field.Invalid(path, name, "name: "+msg))
	}
	if len(id) > 32 {
		errs = append(errs, field.Invalid(path, name, "name: must be at most 32 characters"))
	}
	return errs
}

func validateIdle(idle Idle, hasGPU bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if idle.Timeout != "" {
		d, err := time.ParseDuration(idle.Timeout)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(path.Child("timeout"), idle.Timeout, `must be a duration such as "2h" or "90m" ("0": never)`))
		case d < 0:
			errs = append(errs, field.Invalid(path.Child("timeout"), idle.Timeout, "must not be negative"))
		}
	}
	switch idle.Signal {
	case "", SignalHeartbeat:
	case SignalGPUUtilization:
		if !hasGPU {
			errs = append(errs, field.Invalid(path.Child("signal"), idle.Signal, "the profile has no GPU device to watch; use heartbeat"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("signal"), idle.Signal, []string{SignalHeartbeat, SignalGPUUtilization}))
	}
	return errs
}

func validatePorts(ports []Port, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	var names []string
	var numbers []int32
	for i, port := range ports {
		p := path.Index(i)
		for _, msg := range utilvalidation.IsValidPortName(port.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
		}
		for _, msg := range utilvalidation.IsValidPortNum(int(port.Port)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port, msg))
		}
		if slices.Contains(names, port.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
		}
		if slices.Contains(numbers, port.Port) {
			errs = append(errs, field.Duplicate(p.Child("port"), port.Port))
		}
		names = append(names, port.Name)
		numbers = append(numbers, port.Port)
	}
	return errs
}
