package alignment

import (
	"context"
	"fmt"

	"k8s.io/dynamic-resource-allocation/cel"
)

// tally is what a node offers one requirement of an alignment.
type tally struct {
	request string
	need    int64
	// counts holds, per attribute value, the matching devices with it.
	counts map[value]int64
	// matching counts the devices that pass the selectors and capacity
	// requests; lacking counts those among them without the attribute;
	// tooSmall counts those that pass the selectors only.
	matching, lacking, tooSmall int64
	// capacity is what the request asks each device for.
	capacity string
}

// pool is the devices of a node that can serve one requirement.
type pool struct {
	devices  []int // indices into the node's candidates
	tooSmall int64 // devices passing the selectors, not the capacity requests
}

// evaluate checks the claim against the devices of one node. It returns
// why no alignment is possible there, or "" when every alignment has at
// least one attribute value with enough devices for each of its
// requirements. An error means that a selector failed to evaluate: the
// allocator fails the same way, and it is not this plugin's place to turn
// that into a rejection.
func (c *claimCheck) evaluate(ctx context.Context, devices []candidate) (string, error) {
	pools := make([]*pool, len(c.requirements))
	for _, al := range c.alignments {
		tallies := make([]tally, len(al.requirements))
		values := make(map[value]struct{})
		for k, ri := range al.requirements {
			r := &c.requirements[ri]
			if pools[ri] == nil {
				p, err := r.pool(ctx, devices)
				if err != nil {
					return "", err
				}
				pools[ri] = p
			}
			t := &tallies[k]
			t.request, t.need, t.capacity = r.request, r.count, r.capacityText
			t.counts = make(map[value]int64)
			t.matching, t.tooSmall = int64(len(pools[ri].devices)), pools[ri].tooSmall
			for _, di := range pools[ri].devices {
				attr, ok := lookupAttribute(devices[di], al.attribute)
				vals := attributeValues(attr)
				if !ok || len(vals) == 0 {
					t.lacking++
					continue
				}
				for _, v := range vals {
					t.counts[v]++
					values[v] = struct{}{}
				}
			}
		}
		if !anyValueFits(values, tallies) {
			return explain(c.claim, al.attribute, tallies), nil
		}
	}
	return "", nil
}

func anyValueFits(values map[value]struct{}, tallies []tally) bool {
	for v := range values {
		if fits(v, tallies) == len(tallies) {
			return true
		}
	}
	return false
}

// fits counts the requirements that have enough devices with value v.
func fits(v value, tallies []tally) int {
	n := 0
	for _, t := range tallies {
		if t.counts[v] >= t.need {
			n++
		}
	}
	return n
}

// pool returns the devices that pass the requirement's selectors and
// capacity requests.
func (r *requirement) pool(ctx context.Context, devices []candidate) (*pool, error) {
	p := &pool{}
	for i, c := range devices {
		selected, err := r.selects(ctx, c)
		if err != nil {
			return nil, err
		}
		switch {
		case !selected:
		case r.fits(c):
			p.devices = append(p.devices, i)
		default:
			p.tooSmall++
		}
	}
	return p, nil
}

// selects evaluates the selectors in order, stopping at the first
// mismatch, as the allocator does, so that an expression that would fail
// on a device the allocator never gets to does not stop the check.
func (r *requirement) selects(ctx context.Context, c candidate) (bool, error) {
	key := verdictKey{device: c.device, selectors: r.selectorKey}
	if r.verdicts != nil {
		if selected, ok := r.verdicts.get(key); ok {
			return selected, nil
		}
	}
	selected, err := r.evaluateSelectors(ctx, c)
	if err == nil && r.verdicts != nil {
		r.verdicts.put(key, selected)
	}
	return selected, err
}

// evaluateSelectors runs the CEL selectors on one device.
func (r *requirement) evaluateSelectors(ctx context.Context, c candidate) (bool, error) {
	input := cel.Device{
		Driver:                   c.driver,
		AllowMultipleAllocations: c.device.AllowMultipleAllocations,
		Attributes:               c.device.Attributes,
		Capacity:                 c.device.Capacity,
	}
	for i := range r.selectors {
		ok, _, err := r.selectors[i].DeviceMatches(ctx, input)
		if err != nil {
			return false, fmt.Errorf("request %q: device %s/%s: %w", r.request, c.driver, c.device.Name, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// fits says whether the requested capacity fits into the device's total
// capacity. The request policy may round a request up, which is left to
// the allocator.
func (r *requirement) fits(c candidate) bool {
	for name, want := range r.capacity {
		capacity, ok := lookupCapacity(c, name)
		if !ok || capacity.Value.Cmp(want) < 0 {
			return false
		}
	}
	return true
}
