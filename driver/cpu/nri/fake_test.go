package nri

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
)

// fakeAssignments is an in-memory CPU driver.
type fakeAssignments struct {
	mu      sync.Mutex
	online  cpuset.CPUSet
	claims  map[types.UID]fakeClaim
	changes chan struct{}
}

type fakeClaim struct {
	cpus cpuset.CPUSet
	pods []types.UID
}

func newFake(online string) *fakeAssignments {
	return &fakeAssignments{
		online:  mustParse(online),
		claims:  map[types.UID]fakeClaim{},
		changes: make(chan struct{}, 1),
	}
}

// prepare records a claim without signalling, like the driver between
// taking its lock and notifying.
func (f *fakeAssignments) prepare(uid types.UID, cpus string, pods ...types.UID) *fakeAssignments {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims[uid] = fakeClaim{cpus: mustParse(cpus), pods: pods}
	return f
}

func (f *fakeAssignments) unprepare(uid types.UID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.claims, uid)
}

// notify signals Changes the way the driver does: non-blocking, coalescing.
func (f *fakeAssignments) notify() {
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

func (f *fakeAssignments) ClaimCPUs(uid types.UID) (cpuset.CPUSet, []types.UID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.claims[uid]
	if !ok {
		return cpuset.New(), nil, false
	}
	return c.cpus.Clone(), slices.Clone(c.pods), true
}

func (f *fakeAssignments) Exclusive() cpuset.CPUSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := cpuset.New()
	for _, c := range f.claims {
		all = all.Union(c.cpus)
	}
	return all
}

func (f *fakeAssignments) Online() cpuset.CPUSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.online.Clone()
}

func (f *fakeAssignments) Changes() <-chan struct{} { return f.changes }

var _ Assignments = (*fakeAssignments)(nil)

// mustParse parses a cpuset literal of a test.
func mustParse(s string) cpuset.CPUSet {
	cpus, err := cpuset.Parse(s)
	if err != nil {
		panic(err)
	}
	return cpus
}
