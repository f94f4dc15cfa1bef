package model

import "context"

// Unsatisfiable returns the name of a request of d that node n cannot
// serve whatever devices the allocator picks, or "" when every request,
// taken alone, still finds enough room. It errs only towards "": it
// counts every device that passes the request's selectors and is not
// allocated, ignoring taints, shared counters, request policies, the
// capacity a request takes without asking, constraints and the other
// requests of the pod, all of which only make the allocator stricter.
// Requests of all matching devices and those with fallbacks are not
// judged.
//
// The answer holds for the allocator only when the snapshot is
// exhaustive (Snapshot.Exhaustive): otherwise devices outside the model
// may serve the request. A nil node is a node without devices.
func (n *Node) Unsatisfiable(ctx context.Context, d *Demand) (string, error) {
	for ri := range d.Requests {
		r := &d.Requests[ri]
		if r.All || r.Fallback {
			continue
		}
		if n == nil {
			return r.Name, nil
		}
		matched, err := n.Match(ctx, r)
		if err != nil {
			return "", err
		}
		var room int64
		for _, di := range matched {
			room += n.roomFor(di, r)
			if room >= r.Count {
				break
			}
		}
		if room < r.Count {
			return r.Name, nil
		}
	}
	return "", nil
}

// roomFor returns how many allocations of request r device di could
// still take, by what is allocated of it, at most r.Count: one for a free
// dedicated device, for a shared one the fewest times any requested
// capacity's remainder holds the requested amount (unrounded, so never
// more than the allocator would take).
func (n *Node) roomFor(di int, r *Request) int64 {
	use := n.Use[di]
	if use.Allocated {
		return 0
	}
	d := &n.Devices[di]
	if !d.Shared {
		return 1
	}
	room := r.Count
	if use.Inexact {
		return room
	}
	for name, q := range r.Capacity {
		want, whole := q.AsInt64()
		if !whole || want <= 0 {
			// Fractions and zero requests are left to the allocator.
			continue
		}
		left := n.remaining(di, n.Use, name)
		if left < 0 {
			// No such capacity on the device: the allocator decides.
			continue
		}
		room = min(room, left/want)
	}
	return room
}
