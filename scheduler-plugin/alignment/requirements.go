package alignment

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/dynamic-resource-allocation/cel"
)

// requirement is one ExactCount request that a matchAttribute constraint
// covers: count devices, each passing every selector and offering at least
// the requested capacity.
type requirement struct {
	request string
	count   int64
	// selectors are the class's selectors followed by the request's, the
	// order in which the allocator evaluates them.
	selectors []cel.CompilationResult
	// selectorKey names the selectors (their expressions in order) in the
	// verdict cache; verdicts is nil when verdicts are not cached.
	selectorKey string
	verdicts    *verdicts
	// capacity is nil unless the allocator checks capacity requests.
	capacity map[resourceapi.QualifiedName]resource.Quantity
	// capacityText lists the capacity requests for messages.
	capacityText string
}

// alignment is one matchAttribute constraint, reduced to the requirements
// it can be checked on.
type alignment struct {
	attribute    resourceapi.FullyQualifiedName
	requirements []int // indices into claimCheck.requirements
}

// claimCheck is what Filter checks for one unallocated claim.
type claimCheck struct {
	claim        string // namespace/name
	requirements []requirement
	alignments   []alignment
}

// checkBuilder turns claims into claimChecks.
type checkBuilder struct {
	class    func(name string) (*resourceapi.DeviceClass, error)
	celCache *cel.Cache
	// verdicts caches selector results across pods (nil: no caching).
	verdicts *verdicts
	// capacity says whether the allocator checks capacity requests (the
	// DRAConsumableCapacity feature); when it does not, neither may this
	// plugin.
	capacity bool
}

// build returns the check for claim, or nil and the reason why the claim
// is not checked. Everything this plugin cannot judge with certainty
// (prioritized lists, "All" requests, derived attributes, selectors that do
// not compile) is left out, so that a node is only ever rejected when the
// allocator must fail on it too.
func (b checkBuilder) build(claim *resourceapi.ResourceClaim) (*claimCheck, string) {
	if claim.Status.Allocation != nil {
		return nil, "already allocated"
	}
	requests := make(map[string]*resourceapi.DeviceRequest, len(claim.Spec.Devices.Requests))
	var all []string
	for i := range claim.Spec.Devices.Requests {
		request := &claim.Spec.Devices.Requests[i]
		requests[request.Name] = request
		all = append(all, request.Name)
	}

	check := &claimCheck{claim: claim.Namespace + "/" + claim.Name}
	index := make(map[string]int)
	for _, constraint := range claim.Spec.Devices.Constraints {
		if constraint.MatchAttribute == nil {
			continue
		}
		al := alignment{attribute: *constraint.MatchAttribute}
		names := constraint.Requests
		if len(names) == 0 {
			names = all
		}
		derived := false
		for _, name := range names {
			// A "request/subrequest" reference finds nothing here: requests
			// with subrequests are not checked.
			request := requests[name]
			if request == nil || request.Exactly == nil {
				continue
			}
			if derives(request.Exactly, al.attribute) {
				derived = true
				break
			}
			if mode := request.Exactly.AllocationMode; mode != "" && mode != resourceapi.DeviceAllocationModeExactCount {
				continue
			}
			i, ok := index[name]
			if !ok {
				r, err := b.requirement(request)
				if err != nil {
					return nil, err.Error()
				}
				check.requirements = append(check.requirements, r)
				i = len(check.requirements) - 1
				index[name] = i
			}
			al.requirements = append(al.requirements, i)
		}
		// A derived attribute's value comes from an expression evaluated
		// at allocation time, not from the slice.
		if derived || len(al.requirements) == 0 {
			continue
		}
		check.alignments = append(check.alignments, al)
	}
	if len(check.alignments) == 0 {
		return nil, "no matchAttribute constraint that can be checked"
	}
	return check, ""
}

func derives(request *resourceapi.ExactDeviceRequest, attribute resourceapi.FullyQualifiedName) bool {
	for _, d := range request.DerivedAttributes {
		if d.Name == attribute {
			return true
		}
	}
	return false
}

func (b checkBuilder) requirement(request *resourceapi.DeviceRequest) (requirement, error) {
	exact := request.Exactly
	class, err := b.class(exact.DeviceClassName)
	if err != nil {
		return requirement{}, fmt.Errorf("request %q: device class %s: %w", request.Name, exact.DeviceClassName, err)
	}
	r := requirement{request: request.Name, count: max(exact.Count, 1)}
	for _, selectors := range [][]resourceapi.DeviceSelector{class.Spec.Selectors, exact.Selectors} {
		for _, selector := range selectors {
			if selector.CEL == nil {
				return requirement{}, fmt.Errorf("request %q: selector of an unknown kind", request.Name)
			}
			expr := b.celCache.GetOrCompile(selector.CEL.Expression)
			if expr.Error != nil {
				return requirement{}, fmt.Errorf("request %q: CEL compile error: %w", request.Name, expr.Error)
			}
			r.selectors = append(r.selectors, expr)
			r.selectorKey += selector.CEL.Expression + "\x00"
		}
	}
	r.verdicts = b.verdicts
	if b.capacity && exact.Capacity != nil && len(exact.Capacity.Requests) > 0 {
		r.capacity = maps.Clone(exact.Capacity.Requests)
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(r.capacity)) {
			q := r.capacity[name]
			parts = append(parts, fmt.Sprintf("%s=%s", name, q.String()))
		}
		r.capacityText = strings.Join(parts, ", ")
	}
	return r, nil
}
