package model

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"sync"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
)

// Snapshot is the model of every node with hadron devices at one moment.
// It is read-only.
type Snapshot struct {
	// Nodes holds the nodes with at least one complete hadron pool.
	Nodes map[string]*Node
	// Slices is the DRA manager's slice list with each hadron pool's
	// devices in preference order: the view the allocator is shown.
	Slices []*resourceapi.ResourceSlice
	// Exhaustive is set when every listed device belongs to a modelled
	// node-local hadron pool: no other driver's, network-attached or
	// incomplete pool's device could serve a request, so a node's model
	// holds every device the allocator could give a pod there.
	Exhaustive bool
}

// Source builds snapshots from one DRA manager, reusing what did not
// change since the previous snapshot.
type Source struct {
	dra        fwk.SharedDRAManager
	consumable bool
	// workloadClaims lets pods use claims owned by their workload, as the
	// DynamicResources plugin does under the same gate.
	workloadClaims bool
	// cel compiles the selectors of pods' requests (shared by the plugins
	// so that compiled expressions are reused).
	cel *cel.Cache

	mu sync.Mutex
	// listed holds the slices (and their resource versions) the grouping
	// below was computed from: while the lister returns the same objects,
	// which is almost always, grouping is skipped.
	listed map[*resourceapi.ResourceSlice]string
	// pools maps each complete hadron pool to its node's entry.
	pools map[uniquePool]*nodeEntry
	nodes map[string]*nodeEntry
	// exhaustive is Snapshot.Exhaustive for the grouped list.
	exhaustive bool
	// seed keys the allocation fingerprints.
	seed maphash.Seed
}

// nodeEntry caches one node's model: its devices while its slices stay
// the same, its state while its allocations stay the same too.
type nodeEntry struct {
	slices      []sliceID
	inventory   *Inventory
	fingerprint uint64
	// nodes holds the node's models under that fingerprint, by the GPU
	// request size they are ordered for (see Inventory.gpuRequestSize):
	// pods of a few sizes alternate, and each size has its own order.
	nodes map[int]*Node
	// pending is the fingerprint being computed for the next snapshot.
	pending uint64
	// size is the GPU request size of the snapshot being built.
	size int
}

// maxCachedSizes bounds the models kept per node and fingerprint.
const maxCachedSizes = 8

// sliceID identifies a slice version. Informer and patched objects are
// never modified, so a new pointer means a new object; the resource
// version guards against a store that reuses objects.
type sliceID struct {
	slice *resourceapi.ResourceSlice
	rv    string
}

// celCacheSize bounds the compiled expressions kept across pods.
const celCacheSize = 128

// NewSource returns a source for a DRA manager.
func NewSource(dra fwk.SharedDRAManager, fts feature.Features) *Source {
	return &Source{
		dra:            dra,
		consumable:     fts.EnableDRAConsumableCapacity,
		workloadClaims: fts.EnableDRAWorkloadResourceClaims,
		cel: cel.NewCache(celCacheSize, cel.Features{
			EnableConsumableCapacity: fts.EnableDRAConsumableCapacity,
			EnableListTypeAttributes: fts.EnableDRAListTypeAttributes,
		}),
		nodes: map[string]*nodeEntry{},
		seed:  maphash.MakeSeed(),
	}
}

// DRA returns the manager the source reads.
func (s *Source) DRA() fwk.SharedDRAManager { return s.dra }

// Snapshot lists the slices and the allocated state (including claims in
// flight) and models every node with hadron devices, ordered for
// single-device requests.
func (s *Source) Snapshot(ctx context.Context) (*Snapshot, error) {
	return s.SnapshotFor(ctx, nil)
}

// SnapshotFor is Snapshot with each node's devices ordered for the pod
// whose unallocated claims are demand: a pod asking for k GPUs in one
// request is steered to the NUMA node that fits k most tightly, rather
// than to a partly used one it would spill out of. A nil demand orders
// for single-device requests.
func (s *Source) SnapshotFor(ctx context.Context, demand *Demand) (*Snapshot, error) {
	all, err := s.dra.ResourceSlices().ListWithDeviceTaintRules()
	if err != nil {
		return nil, fmt.Errorf("list ResourceSlices: %w", err)
	}
	state, err := s.allocatedState()
	if err != nil {
		return nil, err
	}
	return s.build(ctx, all, state, demand), nil
}

// allocatedRetries bounds the retries of a read that raced with a change
// of the claim tracker; the next pod reads again anyway.
const allocatedRetries = 10

// allocatedState reads what is allocated the way the DynamicResources
// plugin does.
func (s *Source) allocatedState() (*structured.AllocatedState, error) {
	var lastErr error
	for range allocatedRetries {
		if s.consumable {
			state, err := s.dra.ResourceClaims().GatherAllocatedState()
			if err == nil && state != nil {
				return state, nil
			}
			lastErr = err
			continue
		}
		devices, err := s.dra.ResourceClaims().ListAllAllocatedDevices()
		if err == nil {
			return &structured.AllocatedState{
				AllocatedDevices:         devices,
				AllocatedSharedDeviceIDs: sets.New[structured.SharedDeviceID](),
				AggregatedCapacity:       structured.NewConsumedCapacityCollection(),
			}, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("gather allocated devices: %w", lastErr)
}

// build models the nodes of the listed slices under state.
func (s *Source) build(ctx context.Context, all []*resourceapi.ResourceSlice, state *structured.AllocatedState, demand *Demand) *Snapshot {
	logger := klog.FromContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sameList(all) {
		s.regroup(logger, all)
	}
	fingerprint(s.seed, state, s.pools)
	stale := map[*nodeEntry]bool{}
	for _, e := range s.nodes {
		if e.nodes == nil || e.fingerprint != e.pending {
			e.nodes = map[int]*Node{}
			e.fingerprint = e.pending
		}
		e.size = e.inventory.gpuRequestSize(ctx, demand)
		if e.nodes[e.size] == nil {
			if len(e.nodes) >= maxCachedSizes {
				clear(e.nodes)
			}
			stale[e] = true
		}
	}
	if len(stale) > 0 {
		allocs := bucketAllocations(state, s.pools, stale)
		for e := range stale {
			e.nodes[e.size] = newNode(e.inventory, allocs[e], e.size)
		}
	}
	snap := &Snapshot{Nodes: make(map[string]*Node, len(s.nodes)), Slices: make([]*resourceapi.ResourceSlice, len(all)), Exhaustive: s.exhaustive}
	for node, e := range s.nodes {
		snap.Nodes[node] = e.nodes[e.size]
	}
	for i, sl := range all {
		snap.Slices[i] = sl
		if sl.Spec.NodeName == nil {
			continue
		}
		if n := snap.Nodes[*sl.Spec.NodeName]; n != nil {
			if c, ok := n.view[sl]; ok {
				snap.Slices[i] = c
			}
		}
	}
	return snap
}

// sameList says whether the lister returned the objects of the last
// grouping.
func (s *Source) sameList(all []*resourceapi.ResourceSlice) bool {
	if s.listed == nil || len(all) != len(s.listed) {
		return false
	}
	for _, sl := range all {
		if rv, ok := s.listed[sl]; !ok || rv != sl.ResourceVersion {
			return false
		}
	}
	return true
}

// regroup groups the slices into nodes' pools and rebuilds the devices of
// nodes whose slices changed.
func (s *Source) regroup(logger klog.Logger, all []*resourceapi.ResourceSlice) {
	s.listed = make(map[*resourceapi.ResourceSlice]string, len(all))
	for _, sl := range all {
		s.listed[sl] = sl.ResourceVersion
	}
	pools := groupPools(logger, all)
	s.exhaustive = modelsEveryDevice(all, pools)
	for node, ps := range pools {
		ids := sliceIDs(ps)
		if e := s.nodes[node]; e == nil || !slices.Equal(e.slices, ids) {
			s.nodes[node] = &nodeEntry{slices: ids, inventory: newInventory(node, ps)}
		}
	}
	s.pools = map[uniquePool]*nodeEntry{}
	for node, ps := range pools {
		for _, p := range ps {
			s.pools[makeUniquePool(p.driver, p.name)] = s.nodes[node]
		}
	}
	for node := range s.nodes {
		if _, ok := pools[node]; !ok {
			delete(s.nodes, node)
		}
	}
}

// groupPools returns, per node, the complete hadron pools published for
// that node alone, in driver and pool name order. A pool being republished
// (slices of several generations, or fewer than it announces) is left out:
// the allocator handles it as it is, and it is shown to it unchanged.
func groupPools(logger klog.Logger, all []*resourceapi.ResourceSlice) map[string][]*pool {
	type key struct {
		node string
		poolRef
	}
	byPool := map[key][]*resourceapi.ResourceSlice{}
	for _, sl := range all {
		if !IsHadronDriver(sl.Spec.Driver) || sl.Spec.NodeName == nil || *sl.Spec.NodeName == "" {
			continue
		}
		k := key{*sl.Spec.NodeName, poolRef{sl.Spec.Driver, sl.Spec.Pool.Name}}
		byPool[k] = append(byPool[k], sl)
	}
	owners := map[poolRef]int{}
	for k := range byPool {
		owners[k.poolRef]++
	}
	out := map[string][]*pool{}
	for k, sls := range byPool {
		if owners[k.poolRef] > 1 {
			// One pool spread over several nodes is not node-local.
			logger.V(5).Info("Not reordering pool published for several nodes", "driver", k.driver, "pool", k.pool)
			continue
		}
		gen, count := sls[0].Spec.Pool.Generation, sls[0].Spec.Pool.ResourceSliceCount
		complete := int64(len(sls)) == count
		for _, sl := range sls[1:] {
			if sl.Spec.Pool.Generation != gen || sl.Spec.Pool.ResourceSliceCount != count {
				complete = false
			}
		}
		if !complete {
			logger.V(5).Info("Not reordering incomplete pool", "driver", k.driver, "pool", k.pool, "node", k.node)
			continue
		}
		slices.SortFunc(sls, func(a, b *resourceapi.ResourceSlice) int { return cmp.Compare(a.Name, b.Name) })
		p := &pool{driver: k.driver, name: k.pool}
		for _, sl := range sls {
			if len(sl.Spec.Devices) > 0 {
				p.slices = append(p.slices, sl)
			} else if len(sl.Spec.SharedCounters) > 0 {
				p.counters = append(p.counters, sl)
			}
		}
		out[k.node] = append(out[k.node], p)
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b *pool) int {
			return cmp.Or(cmp.Compare(a.driver, b.driver), cmp.Compare(a.name, b.name))
		})
	}
	return out
}

// modelsEveryDevice says whether every listed slice with devices belongs
// to one of the grouped pools.
func modelsEveryDevice(all []*resourceapi.ResourceSlice, pools map[string][]*pool) bool {
	modelled := sets.New[*resourceapi.ResourceSlice]()
	for _, ps := range pools {
		for _, p := range ps {
			modelled.Insert(p.slices...)
		}
	}
	for _, sl := range all {
		if len(sl.Spec.Devices) > 0 && !modelled.Has(sl) {
			return false
		}
	}
	return true
}

// sliceIDs lists the identities of a node's pools' slices, in the pools'
// order.
func sliceIDs(ps []*pool) []sliceID {
	var ids []sliceID
	for _, p := range ps {
		for _, group := range [][]*resourceapi.ResourceSlice{p.counters, p.slices} {
			for _, sl := range group {
				ids = append(ids, sliceID{sl, sl.ResourceVersion})
			}
		}
	}
	return ids
}

// Shared hands out one Source per DRA manager, so that the plugins of all
// profiles of a scheduler share one model and its caches.
type Shared struct {
	mu      sync.Mutex
	sources []*Source
}

// For returns the source for a DRA manager, creating it on first use, or
// nil when there is none (dynamic resource allocation off): the plugins
// then leave devices to upstream and score nothing.
func (sh *Shared) For(dra fwk.SharedDRAManager, fts feature.Features) *Source {
	if dra == nil || !fts.EnableDynamicResourceAllocation {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Managers of a type that cannot be compared get a source each;
	// comparing interfaces of different dynamic types is false, never a
	// panic.
	if reflect.TypeOf(dra).Comparable() {
		for _, s := range sh.sources {
			if s.dra == dra {
				return s
			}
		}
	}
	s := NewSource(dra, fts)
	sh.sources = append(sh.sources, s)
	return s
}
