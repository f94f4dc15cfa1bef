package nri

import (
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
)

// This file is the plugin's decision logic. It knows nothing about NRI
// messages or connections, so that every rule can be tested directly.

// container is what the plugin remembers about one live container.
type container struct {
	id      string
	sandbox string    // pod sandbox ID, to forget a whole pod at once
	pod     types.UID // the pod's UID, matched against a claim's pods
	name    string    // namespace/pod/container, for logs only
	// claims are the claim UIDs the container's environment names. They
	// are untrusted until checked against Assignments.
	claims []types.UID
	// cpus is the cpuset the container is known to run on; empty when
	// unknown, which makes the next reconcile set it.
	cpus cpuset.CPUSet
}

// rejection is a claim a container names but may not have.
type rejection struct {
	claim  types.UID
	reason string
}

const (
	reasonUnknownClaim = "claim is not prepared on this node"
	reasonOtherPod     = "claim is not reserved for the container's pod"
)

// decision is the cpuset a container must run on.
type decision struct {
	cpus      cpuset.CPUSet
	exclusive bool        // cpus are the container's own claims'
	rejected  []rejection // claims named by the environment but not honoured
}

// view is one reading of the driver's state, so that every container in
// one round is judged against the same shared pool.
type view struct {
	a      Assignments
	online cpuset.CPUSet
	shared cpuset.CPUSet
}

func newView(a Assignments) view {
	online := a.Online()
	return view{a: a, online: online, shared: online.Difference(a.Exclusive())}
}

// decide returns the cpuset container c must run on: the union of its
// honoured claims' CPUs, or the shared pool. ok is false when the
// container's cpuset must be left alone: the online CPUs are unknown, or
// the container has no exclusive CPUs and the shared pool is empty (an
// empty cpuset would mean "no change" to the runtime, or fail).
func (v view) decide(c *container) (d decision, ok bool) {
	if v.online.IsEmpty() {
		return decision{}, false
	}
	own := cpuset.New()
	for _, uid := range c.claims {
		cpus, pods, known := v.a.ClaimCPUs(uid)
		switch {
		case !known:
			d.rejected = append(d.rejected, rejection{uid, reasonUnknownClaim})
		case c.pod == "" || !slices.Contains(pods, c.pod):
			d.rejected = append(d.rejected, rejection{uid, reasonOtherPod})
		default:
			own = own.Union(cpus)
		}
	}
	if !own.IsEmpty() {
		d.cpus, d.exclusive = own, true
		return d, true
	}
	d.cpus = v.shared
	return d, !v.shared.IsEmpty()
}

// update is a new cpuset for a container that already exists.
type update struct {
	id   string
	cpus cpuset.CPUSet
}

// state is every live container the plugin knows. It is not safe for
// concurrent use; the plugin serialises access.
type state struct {
	containers map[string]*container
}

func newState() *state {
	return &state{containers: map[string]*container{}}
}

// create records a container the runtime is about to create. It returns
// the cpuset to give the container (ok false: leave it alone) and the
// updates that move existing containers where they now belong, typically
// shrinking shared ones out of the CPUs this container's claim took.
func (s *state) create(v view, c *container) (d decision, ok bool, others []update) {
	d, ok = v.decide(c)
	if ok {
		c.cpus = d.cpus
	}
	delete(s.containers, c.id) // the runtime may not update a container it is creating
	others = s.reconcile(v)
	s.containers[c.id] = c
	return d, ok, others
}

// synchronize replaces everything known with the runtime's containers and
// returns the updates that put each on its cpuset. Containers whose
// cpuset already matches get none. The decisions are returned for logging.
func (s *state) synchronize(v view, cs []*container) ([]update, map[string]decision) {
	s.containers = make(map[string]*container, len(cs))
	for _, c := range cs {
		s.containers[c.id] = c
	}
	decisions := make(map[string]decision, len(cs))
	for _, c := range cs {
		if d, ok := v.decide(c); ok {
			decisions[c.id] = d
		}
	}
	return s.reconcile(v), decisions
}

// reconcile returns an update for every known container whose cpuset
// differs from its decision, and records the new cpusets as applied. A
// container keeping its exclusive CPUs never gets one, because its claims'
// CPUs do not change while they are prepared.
func (s *state) reconcile(v view) []update {
	var out []update
	for _, c := range s.containers {
		d, ok := v.decide(c)
		if !ok || d.cpus.Equals(c.cpus) {
			continue
		}
		c.cpus = d.cpus
		out = append(out, update{id: c.id, cpus: d.cpus})
	}
	// Deterministic order for the runtime's logs and for tests.
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// pin is asked when someone else (typically the kubelet's CPU manager)
// changes a container's resources: it records the container if it was not
// known and returns the cpuset the plugin wants it to keep.
func (s *state) pin(v view, c *container) (cpuset.CPUSet, bool) {
	if known, ok := s.containers[c.id]; ok {
		c = known
	} else {
		s.containers[c.id] = c
	}
	d, ok := v.decide(c)
	if !ok {
		return cpuset.New(), false
	}
	c.cpus = d.cpus
	return d.cpus, true
}

// unknown marks the cpusets of the given containers as not known to be
// applied (an update failed), so the next reconcile sends them again.
func (s *state) unknown(ids ...string) {
	for _, id := range ids {
		if c, ok := s.containers[id]; ok {
			c.cpus = cpuset.New()
		}
	}
}

// forget drops a container that stopped or was removed.
func (s *state) forget(id string) {
	delete(s.containers, id)
}

// forgetSandbox drops every container of a pod sandbox.
func (s *state) forgetSandbox(sandbox string) {
	for id, c := range s.containers {
		if c.sandbox == sandbox {
			delete(s.containers, id)
		}
	}
}
