package model

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"
)

// Request is one device request of a pod's unallocated claims, as the
// allocator will first try it: a prioritized list is represented by its
// first subrequest.
type Request struct {
	// Name is "claim-namespace/claim-name/request[/subrequest]", for logs.
	Name string
	// Count is how many devices an ExactCount request needs; All requests
	// take every matching device.
	Count int64
	All   bool
	// Capacity is what the request asks of each device's capacities.
	Capacity map[resourceapi.QualifiedName]resource.Quantity
	// Fallback is set when the request is the first of a prioritized
	// list with further subrequests: the allocator tries those when this
	// one cannot be met, so failing it does not fail the pod.
	Fallback bool
	// selectors are the class's selectors followed by the request's.
	selectors []cel.CompilationResult
	// selectorKey identifies the selectors, and key the selectors and
	// capacity requests, for the per-node match caches.
	selectorKey, key string
}

// Constraint is a matchAttribute constraint over some of the requests.
type Constraint struct {
	Attribute resourceapi.FullyQualifiedName
	// Requests index Demand.Requests.
	Requests []int
}

// Demand is what a pod's unallocated claims ask for.
type Demand struct {
	Requests    []Request
	Constraints []Constraint
	// Complete is set when every claim of the pod still needs an
	// allocation and was read: none is allocated, in flight, missing or
	// another pod's. Only then is a node that cannot serve the requests
	// rejected early (see Node.Unsatisfiable): the DynamicResources
	// plugin's Filter also judges allocated claims, and remembers those
	// unavailable on a node for its PostFilter.
	Complete bool
}

// Empty says whether the pod asks for nothing to allocate.
func (d *Demand) Empty() bool { return d == nil || len(d.Requests) == 0 }

// PodDemand reads the pod's claims that still need an allocation. Claims
// that do not exist yet, are allocated, in flight or belong to another pod
// are left out: the DynamicResources plugin decides about them. A request
// whose class or selectors cannot be used is left out too, and logged; it
// only makes the scores less informed.
func (s *Source) PodDemand(ctx context.Context, pod *v1.Pod) *Demand {
	logger := klog.FromContext(ctx)
	d := &Demand{Complete: true}
	seen := map[string]bool{}
	for i := range pod.Spec.ResourceClaims {
		claim, ok := s.claimToAllocate(pod, &pod.Spec.ResourceClaims[i], seen)
		if !ok {
			d.Complete = false
		}
		if claim == nil {
			continue
		}
		if err := s.addClaim(d, claim); err != nil {
			logger.V(5).Info("Not scoring with claim", "pod", klog.KObj(pod), "resourceclaim", klog.KObj(claim), "err", err)
		}
	}
	return d
}

// claimToAllocate returns the pod's claim named by ref when it still needs
// an allocation, nil when it does not or was seen already; ok is false
// when the claim is left to the DynamicResources plugin (missing,
// allocated, in flight, deleted or another pod's).
func (s *Source) claimToAllocate(pod *v1.Pod, ref *v1.PodResourceClaim, seen map[string]bool) (_ *resourceapi.ResourceClaim, ok bool) {
	name, mustCheckOwner, err := resourceclaim.Name(pod, ref)
	if err != nil {
		return nil, false
	}
	if name == nil || seen[*name] {
		return nil, true
	}
	seen[*name] = true
	claim, err := s.dra.ResourceClaims().Get(pod.Namespace, *name)
	switch {
	case err != nil, claim.DeletionTimestamp != nil, claim.Status.Allocation != nil,
		mustCheckOwner && resourceclaim.IsForPod(pod, claim, s.workloadClaims) != nil,
		s.dra.ResourceClaims().GetPendingAllocation(claim.UID) != nil:
		return nil, false
	}
	return claim, true
}

// addClaim appends a claim's requests and constraints to d.
func (s *Source) addClaim(d *Demand, claim *resourceapi.ResourceClaim) error {
	first := len(d.Requests)
	names := map[string]int{} // request or request/subrequest → index
	var all []int
	for i := range claim.Spec.Devices.Requests {
		r := &claim.Spec.Devices.Requests[i]
		exact, name := r.Exactly, r.Name
		fallback := exact == nil && len(r.FirstAvailable) > 1
		if exact == nil && len(r.FirstAvailable) > 0 {
			sub := r.FirstAvailable[0]
			exact = &resourceapi.ExactDeviceRequest{
				DeviceClassName: sub.DeviceClassName, Selectors: sub.Selectors, AllocationMode: sub.AllocationMode,
				Count: sub.Count, Capacity: sub.Capacity,
			}
			name = r.Name + "/" + sub.Name
		}
		if exact == nil || (exact.AdminAccess != nil && *exact.AdminAccess) {
			continue
		}
		req, err := s.request(claim.Namespace+"/"+claim.Name+"/"+name, exact)
		if err != nil {
			d.Requests = d.Requests[:first]
			return fmt.Errorf("request %q: %w", name, err)
		}
		req.Fallback = fallback
		names[r.Name] = len(d.Requests)
		names[name] = len(d.Requests)
		all = append(all, len(d.Requests))
		d.Requests = append(d.Requests, req)
	}
	for _, c := range claim.Spec.Devices.Constraints {
		if c.MatchAttribute == nil {
			continue
		}
		con := Constraint{Attribute: *c.MatchAttribute}
		if len(c.Requests) == 0 {
			con.Requests = slices.Clone(all)
		}
		for _, n := range c.Requests {
			if i, ok := names[n]; ok && !slices.Contains(con.Requests, i) {
				con.Requests = append(con.Requests, i)
			}
		}
		if len(con.Requests) > 0 {
			d.Constraints = append(d.Constraints, con)
		}
	}
	return nil
}

// request compiles one request's selectors.
func (s *Source) request(name string, exact *resourceapi.ExactDeviceRequest) (Request, error) {
	class, err := s.dra.DeviceClasses().Get(exact.DeviceClassName)
	if err != nil {
		return Request{}, fmt.Errorf("device class %s: %w", exact.DeviceClassName, err)
	}
	r := Request{Name: name, Count: max(exact.Count, 1), All: exact.AllocationMode == resourceapi.DeviceAllocationModeAll}
	var key strings.Builder
	fmt.Fprintf(&key, "%s\x00%s\x00%s", class.Name, class.UID, class.ResourceVersion)
	for _, selectors := range [][]resourceapi.DeviceSelector{class.Spec.Selectors, exact.Selectors} {
		for _, sel := range selectors {
			if sel.CEL == nil {
				return Request{}, fmt.Errorf("selector of an unknown kind")
			}
			expr := s.cel.GetOrCompile(sel.CEL.Expression)
			if expr.Error != nil {
				return Request{}, fmt.Errorf("CEL compile error: %w", expr.Error)
			}
			r.selectors = append(r.selectors, expr)
			key.WriteString("\x00")
			key.WriteString(sel.CEL.Expression)
		}
	}
	r.selectorKey = key.String()
	if exact.Capacity != nil && len(exact.Capacity.Requests) > 0 {
		r.Capacity = maps.Clone(exact.Capacity.Requests)
		for _, n := range slices.Sorted(maps.Keys(r.Capacity)) {
			q := r.Capacity[n]
			fmt.Fprintf(&key, "\x00cap:%s=%s", n, q.String())
		}
	}
	r.key = key.String()
	return r, nil
}

// Match returns the devices of the node that pass the request's selectors
// and, for devices that are not shared, offer the requested capacity.
// Allocation state is not considered. The result is cached per node and
// must not be modified.
func (nd *Inventory) Match(ctx context.Context, r *Request) ([]int, error) {
	if m, ok := nd.cached(nd.matches, r.key); ok {
		return m, nil
	}
	selected, ok := nd.cached(nd.selected, r.selectorKey)
	if !ok {
		selected = []int{}
		for di := range nd.Devices {
			ok, err := r.selects(ctx, &nd.Devices[di])
			if err != nil {
				return nil, err
			}
			if ok {
				selected = append(selected, di)
			}
		}
		nd.cache(nd.selected, r.selectorKey, selected)
	}
	m := selected
	if len(r.Capacity) > 0 {
		m = []int{}
		for _, di := range selected {
			if d := &nd.Devices[di]; d.Shared || r.fitsTotal(d) {
				m = append(m, di)
			}
		}
	}
	nd.cache(nd.matches, r.key, m)
	return m, nil
}

// cached reads one of the node's match caches.
func (nd *Inventory) cached(c map[string][]int, key string) ([]int, bool) {
	nd.matchMu.Lock()
	defer nd.matchMu.Unlock()
	m, ok := c[key]
	return m, ok
}

// cache stores a match in one of the node's caches, emptying it first
// when it is full.
func (nd *Inventory) cache(c map[string][]int, key string, m []int) {
	nd.matchMu.Lock()
	defer nd.matchMu.Unlock()
	if len(c) >= maxCachedMatches {
		clear(c)
	}
	c[key] = m
}

// selects evaluates the selectors in order, stopping at the first
// mismatch, as the allocator does.
func (r *Request) selects(ctx context.Context, d *Device) (bool, error) {
	input := cel.Device{Driver: d.Driver, AllowMultipleAllocations: d.Raw.AllowMultipleAllocations,
		Attributes: d.Raw.Attributes, Capacity: d.Raw.Capacity}
	for i := range r.selectors {
		ok, _, err := r.selectors[i].DeviceMatches(ctx, input)
		if err != nil {
			return false, fmt.Errorf("request %s: device %s/%s: %w", r.Name, d.Driver, d.Name, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// fitsTotal says whether a dedicated device offers the requested capacity.
func (r *Request) fitsTotal(d *Device) bool {
	for name, want := range r.Capacity {
		c, ok := lookupCapacity(d.Driver, d.Raw, name)
		if !ok || c.Value.Cmp(want) < 0 {
			return false
		}
	}
	return true
}

// consumption is what one allocation of request r takes from shared device
// d, per capacity: the requested amount rounded up by the device's request
// policy, the policy's default when not requested, or all of a capacity
// without a policy, as the allocator computes it.
func (r *Request) consumption(d *Device) map[resourceapi.QualifiedName]int64 {
	out := map[resourceapi.QualifiedName]int64{}
	for name, c := range d.Raw.Capacity {
		total := c.Value.Value()
		want, asked := r.requested(d.Driver, name)
		p := c.RequestPolicy
		switch {
		case p == nil && asked:
			out[name] = want
		case p == nil:
			out[name] = total
		case !asked && p.Default != nil:
			out[name] = p.Default.Value()
		case !asked:
			out[name] = total
		default:
			out[name] = roundUp(want, p)
		}
	}
	return out
}

// requested returns what the request asks of a capacity, matching names
// with or without the driver's domain.
func (r *Request) requested(driver string, name resourceapi.QualifiedName) (int64, bool) {
	q, ok := lookupQualified(r.Capacity, driver, name)
	return q.Value(), ok
}

// roundUp applies a request policy's valid values or range to a request.
func roundUp(v int64, p *resourceapi.CapacityRequestPolicy) int64 {
	if len(p.ValidValues) > 0 {
		for _, q := range p.ValidValues {
			if q.Value() >= v {
				return q.Value()
			}
		}
		return v
	}
	if p.ValidRange == nil || p.ValidRange.Min == nil {
		return v
	}
	lo := p.ValidRange.Min.Value()
	if v <= lo {
		return lo
	}
	if p.ValidRange.Step != nil && p.ValidRange.Step.Value() > 0 {
		step := p.ValidRange.Step.Value()
		v = lo + (v-lo+step-1)/step*step
	}
	return v
}
