package cpu

import (
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
)

// The methods below are what the NRI plugin reads: the driver's prepared
// claims are the one source of truth for exclusive CPUs.

// ClaimCPUs returns the CPUs prepared for a claim and the pods it was
// reserved for at prepare time.
func (f *Family) ClaimCPUs(claimUID types.UID) (cpuset.CPUSet, []types.UID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.claims[claimUID]
	if !ok {
		return cpuset.New(), nil, false
	}
	return c.cpus.Clone(), slices.Clone(c.pods), true
}

// Exclusive returns every CPU held by a prepared claim.
func (f *Family) Exclusive() cpuset.CPUSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exclusiveLocked()
}

// Online returns every online CPU of the node, reserved ones included.
func (f *Family) Online() cpuset.CPUSet { return f.online }

// Changes is signalled after every prepare, unprepare and reconcile.
func (f *Family) Changes() <-chan struct{} { return f.changes }
