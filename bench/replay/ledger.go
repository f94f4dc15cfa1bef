package replay

import (
	"fmt"

	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/quota"
)

// ledger follows each tenant's allocated usage, priced as TenantQuota
// prices it, and the largest excess over a quota limit ever seen.
type ledger struct {
	limits map[string]quota.Quota
	used   map[string]quota.List
	pools  slicePools
	// overshoot is the largest excess, in overshootResource's unit.
	overshoot         float64
	overshootResource quota.Resource
}

// slicePools serves the replay's slices to quota.Price.
type slicePools map[[2]string][]*resourceapi.ResourceSlice

// PoolSlices implements quota.Pools.
func (p slicePools) PoolSlices(driver, pool string) []*resourceapi.ResourceSlice {
	return p[[2]string{driver, pool}]
}

func (p slicePools) add(s *resourceapi.ResourceSlice) {
	k := [2]string{s.Spec.Driver, s.Spec.Pool.Name}
	p[k] = append(p[k], s)
}

func newLedger(tenants []trace.Tenant, pools slicePools) (*ledger, error) {
	l := &ledger{limits: map[string]quota.Quota{}, used: map[string]quota.List{}, pools: pools}
	for _, t := range tenants {
		q, err := quota.Parse(t.Quota)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		l.limits[t.Name] = q
		l.used[t.Name] = quota.List{}
	}
	return l, nil
}

// price is what an allocation costs a tenant.
func (l *ledger) price(alloc *resourceapi.AllocationResult) quota.List {
	cost, _ := quota.Price(alloc, l.pools)
	return cost
}

// add books (sign 1) or releases (sign -1) a cost and records any excess
// over the tenant's limits.
func (l *ledger) add(tenant string, cost quota.List, sign int64) {
	used, ok := l.used[tenant]
	if !ok {
		// Pods outside any tenant are not limited.
		return
	}
	for r, v := range cost {
		used[r] += sign * v
	}
	for r, limit := range l.limits[tenant].Limits {
		if excess := float64(used[r] - limit); excess > l.overshoot {
			l.overshoot, l.overshootResource = excess, r
		}
	}
}
