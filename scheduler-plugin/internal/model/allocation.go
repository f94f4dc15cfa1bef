package model

import (
	"hash/maphash"
	"strconv"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	draapi "k8s.io/dynamic-resource-allocation/api"
	"k8s.io/dynamic-resource-allocation/structured"
)

// devRef names a device across the cluster.
type devRef struct{ driver, pool, device string }

// poolRef names a pool across the cluster.
type poolRef struct{ driver, pool string }

// nodeAllocations is what is allocated from one node's hadron pools.
type nodeAllocations struct {
	// dedicated devices are allocated whole (including shared devices when
	// consumable capacity is off).
	dedicated []devRef
	// shares counts the allocations of each shared device.
	shares map[devRef]int
	// consumed sums each shared device's consumed capacities, rounded up
	// to whole base units.
	consumed map[devRef]map[resourceapi.QualifiedName]int64
	// inexact marks shared devices of which some consumed amount is not a
	// whole number of base units, so that consumed overstates it.
	inexact map[devRef]bool
}

// uniquePool names a pool by the interned strings the allocated state
// uses, so that looking one up hashes two pointers rather than two names.
type uniquePool struct{ driver, pool draapi.UniqueString }

func makeUniquePool(driver, pool string) uniquePool {
	return uniquePool{draapi.MakeUniqueString(driver), draapi.MakeUniqueString(pool)}
}

// hashEntry hashes one entry of the allocated state.
func hashEntry(seed maphash.Seed, parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, p := range parts {
		_, _ = h.WriteString(p)
		_ = h.WriteByte(0)
	}
	return h.Sum64()
}

// fingerprint sums, into each node entry's pending fingerprint, the hashes
// of what is allocated of its hadron pools. Addition makes the result
// independent of the order the allocated state is iterated in, so the
// fingerprints of all nodes cost one pass over the allocated state and no
// per-node lists; only nodes whose fingerprint changed are rebuilt.
func fingerprint(seed maphash.Seed, state *structured.AllocatedState, pools map[uniquePool]*nodeEntry) {
	for _, e := range pools {
		e.pending = 0
	}
	if state == nil {
		return
	}
	for id := range state.AllocatedDevices {
		if e := pools[uniquePool{id.Driver, id.Pool}]; e != nil {
			e.pending += hashEntry(seed, "d", id.Driver.String(), id.Pool.String(), id.Device.String())
		}
	}
	for id := range state.AllocatedSharedDeviceIDs {
		if e := pools[uniquePool{id.Driver, id.Pool}]; e != nil {
			e.pending += hashEntry(seed, "s", id.Driver.String(), id.Pool.String(), id.Device.String(), id.ShareID.String())
		}
	}
	for id, consumed := range state.AggregatedCapacity {
		e := pools[uniquePool{id.Driver, id.Pool}]
		if e == nil {
			continue
		}
		for name, q := range consumed {
			if q != nil {
				e.pending += hashEntry(seed, "c", id.Driver.String(), id.Pool.String(), id.Device.String(), string(name), strconv.FormatInt(q.Value(), 10))
			}
		}
	}
}

// bucketAllocations collects what is allocated of the pools of the wanted
// node entries.
func bucketAllocations(state *structured.AllocatedState, pools map[uniquePool]*nodeEntry, want map[*nodeEntry]bool) map[*nodeEntry]*nodeAllocations {
	out := map[*nodeEntry]*nodeAllocations{}
	if state == nil {
		return out
	}
	get := func(driver, pool draapi.UniqueString) *nodeAllocations {
		e := pools[uniquePool{driver, pool}]
		if e == nil || !want[e] {
			return nil
		}
		a := out[e]
		if a == nil {
			a = &nodeAllocations{shares: map[devRef]int{}, consumed: map[devRef]map[resourceapi.QualifiedName]int64{}}
			out[e] = a
		}
		return a
	}
	for id := range state.AllocatedDevices {
		if a := get(id.Driver, id.Pool); a != nil {
			a.dedicated = append(a.dedicated, devRef{id.Driver.String(), id.Pool.String(), id.Device.String()})
		}
	}
	for id := range state.AllocatedSharedDeviceIDs {
		if a := get(id.Driver, id.Pool); a != nil {
			a.shares[devRef{id.Driver.String(), id.Pool.String(), id.Device.String()}]++
		}
	}
	for id, consumed := range state.AggregatedCapacity {
		a := get(id.Driver, id.Pool)
		if a == nil {
			continue
		}
		r := devRef{id.Driver.String(), id.Pool.String(), id.Device.String()}
		c := map[resourceapi.QualifiedName]int64{}
		for name, q := range consumed {
			if q == nil {
				continue
			}
			c[name] = q.Value()
			if q.Cmp(*resource.NewQuantity(c[name], resource.DecimalSI)) != 0 {
				if a.inexact == nil {
					a.inexact = map[devRef]bool{}
				}
				a.inexact[r] = true
			}
		}
		a.consumed[r] = c
	}
	return out
}
