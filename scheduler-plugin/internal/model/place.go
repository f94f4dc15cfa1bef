package model

import (
	"context"
	"maps"
	"slices"

	resourceapi "k8s.io/api/resource/v1"
)

// Pick is one device the model expects a request to get.
type Pick struct {
	Request, Device int
	// Consumed is what the allocation takes of a shared device.
	Consumed map[resourceapi.QualifiedName]int64
}

// Placement is where the model expects a pod's requests to land on a node:
// the first devices that fit in the order the allocator sees, honouring
// matchAttribute constraints by trying the constrained attribute's values
// in that order, as the allocator's backtracking does. It is an estimate
// for scoring; the allocator decides.
type Placement struct {
	Node  *Node
	Picks []Pick
	// Missing counts requested devices that could not be placed.
	Missing int64
	// Use and GPUUse are the node's use after the placement.
	Use    []Use
	GPUUse []GPUUse
}

// sim is a node's use while placing.
type sim struct {
	n      *Node
	use    []Use
	gpuUse []GPUUse
	picks  []Pick
	miss   int64
}

func (s *sim) clone() *sim {
	return &sim{n: s.n, use: slices.Clone(s.use), gpuUse: slices.Clone(s.gpuUse), picks: slices.Clone(s.picks), miss: s.miss}
}

// Place estimates where the demand lands on the node.
func (n *Node) Place(ctx context.Context, d *Demand) (*Placement, error) {
	matched := make([][]bool, len(d.Requests))
	for ri := range d.Requests {
		m, err := n.Match(ctx, &d.Requests[ri])
		if err != nil {
			return nil, err
		}
		set := make([]bool, len(n.Devices))
		for _, di := range m {
			set[di] = true
		}
		matched[ri] = set
	}
	s := &sim{n: n, use: slices.Clone(n.Use), gpuUse: slices.Clone(n.GPUUse)}
	done := make([]bool, len(d.Requests))
	for _, c := range d.Constraints {
		var reqs []int
		for _, ri := range c.Requests {
			if !done[ri] {
				reqs = append(reqs, ri)
				done[ri] = true
			}
		}
		if len(reqs) == 0 {
			continue
		}
		s = s.placeAligned(d, reqs, matched, c.Attribute)
	}
	for ri := range d.Requests {
		if !done[ri] {
			s.take(d, ri, matched[ri], nil)
		}
	}
	return &Placement{Node: n, Picks: s.picks, Missing: s.miss, Use: s.use, GPUUse: s.gpuUse}, nil
}

// placeAligned places requests that must share an attribute value: the
// first value, in device order, on which all of them fit.
func (s *sim) placeAligned(d *Demand, reqs []int, matched [][]bool, attr resourceapi.FullyQualifiedName) *sim {
	// Each matched device's value, read once: every trial below filters
	// the devices by it.
	valueOf := map[int]string{}
	var values []string
	seen := map[string]bool{}
	for _, di := range s.n.order {
		if !slices.ContainsFunc(reqs, func(ri int) bool { return matched[ri][di] }) {
			continue
		}
		v, ok := s.n.Devices[di].AttributeValue(attr)
		if !ok {
			continue
		}
		valueOf[di] = v
		if !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	for _, v := range values {
		trial := s.clone()
		ok := true
		for _, ri := range reqs {
			if !trial.take(d, ri, matched[ri], func(di int) bool {
				got, has := valueOf[di]
				return has && got == v
			}) {
				ok = false
				break
			}
		}
		if ok {
			return trial
		}
	}
	// Not alignable here; the allocator would reject the node. Place
	// without the constraint so that the estimate is still defined.
	for _, ri := range reqs {
		s.take(d, ri, matched[ri], nil)
	}
	return s
}

// take picks the request's devices in order; it reports whether all were
// found and counts the missing ones.
func (s *sim) take(d *Demand, ri int, matched []bool, allow func(int) bool) bool {
	r := &d.Requests[ri]
	var got int64
	for _, di := range s.n.order {
		if !r.All && got >= r.Count {
			break
		}
		if !matched[di] || (allow != nil && !allow(di)) {
			continue
		}
		if used := slices.ContainsFunc(s.picks, func(p Pick) bool { return p.Request == ri && p.Device == di }); used {
			continue
		}
		if s.pick(ri, di, r) {
			got++
		}
	}
	if r.All {
		return true
	}
	s.miss += r.Count - got
	return got >= r.Count
}

// pick allocates device di to request r if it fits.
func (s *sim) pick(ri, di int, r *Request) bool {
	n, dev := s.n, &s.n.Devices[di]
	consumed, ok := n.fits(di, s.use, s.gpuUse, r)
	if !ok {
		return false
	}
	if dev.Shared {
		u := s.use[di]
		u.Shares++
		c := maps.Clone(u.Consumed)
		if c == nil {
			c = map[resourceapi.QualifiedName]int64{}
		}
		for name, want := range consumed {
			c[name] = consumedOf(dev, u, name) + want
		}
		u.Consumed = c
		s.use[di] = u
	} else {
		s.use[di].Allocated = true
	}
	if dev.GPU >= 0 {
		s.gpuUse[dev.GPU] = n.gpuUse(dev.GPU, s.use)
	}
	s.picks = append(s.picks, Pick{Request: ri, Device: di, Consumed: consumed})
	return true
}
