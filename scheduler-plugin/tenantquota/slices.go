package tenantquota

import (
	"sync"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	fwk "k8s.io/kube-scheduler/framework"
)

// poolIndex keeps the ResourceSlices by (driver, pool), fed by the
// scheduler's ResourceSlice informer, so that pricing an allocation looks
// at one pool instead of every slice in the cluster.
type poolIndex struct {
	mu    sync.RWMutex
	pools map[poolKey]map[string]*resourceapi.ResourceSlice
}

type poolKey struct{ driver, pool string }

func newPoolIndex() *poolIndex {
	return &poolIndex{pools: map[poolKey]map[string]*resourceapi.ResourceSlice{}}
}

// PoolSlices implements quota.Pools.
func (p *poolIndex) PoolSlices(driver, pool string) []*resourceapi.ResourceSlice {
	p.mu.RLock()
	defer p.mu.RUnlock()
	slices := p.pools[poolKey{driver, pool}]
	out := make([]*resourceapi.ResourceSlice, 0, len(slices))
	for _, s := range slices {
		out = append(out, s)
	}
	return out
}

// update replaces old (if any) by s (if any) in one step, so that a
// lookup never misses a slice that is only being updated.
func (p *poolIndex) update(old, s *resourceapi.ResourceSlice) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old != nil {
		p.removeLocked(old)
	}
	if s != nil {
		p.setLocked(s)
	}
}

func (p *poolIndex) setLocked(s *resourceapi.ResourceSlice) {
	key := poolKey{s.Spec.Driver, s.Spec.Pool.Name}
	if p.pools[key] == nil {
		p.pools[key] = map[string]*resourceapi.ResourceSlice{}
	}
	p.pools[key][s.Name] = s
}

func (p *poolIndex) removeLocked(s *resourceapi.ResourceSlice) {
	key := poolKey{s.Spec.Driver, s.Spec.Pool.Name}
	delete(p.pools[key], s.Name)
	if len(p.pools[key]) == 0 {
		delete(p.pools, key)
	}
}

// handler keeps the index current. An update that moves a slice to
// another pool removes it from the old one.
func (p *poolIndex) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if s, ok := obj.(*resourceapi.ResourceSlice); ok {
				p.update(nil, s)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, _ := oldObj.(*resourceapi.ResourceSlice)
			s, _ := newObj.(*resourceapi.ResourceSlice)
			p.update(old, s)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if s, ok := obj.(*resourceapi.ResourceSlice); ok {
				p.update(s, nil)
			}
		},
	}
}

// draPools looks pools up in the scheduler's DRA manager, which can be a
// moment ahead of this plugin's informer handler: Reserve prices with it
// when a device it was just given is not in the index yet. The manager
// only lists every slice, so one draPools lists them once, at its first
// lookup, however many devices the pod's allocations name.
type draPools struct {
	lister fwk.ResourceSliceLister
	byPool map[poolKey][]*resourceapi.ResourceSlice // nil until listed
}

func (d *draPools) PoolSlices(driver, pool string) []*resourceapi.ResourceSlice {
	if d.byPool == nil {
		d.byPool = map[poolKey][]*resourceapi.ResourceSlice{}
		// A failed list prices from the allocation alone, as a device not
		// yet published would be.
		all, _ := d.lister.ListWithDeviceTaintRules()
		for _, s := range all {
			key := poolKey{s.Spec.Driver, s.Spec.Pool.Name}
			d.byPool[key] = append(d.byPool[key], s)
		}
	}
	return d.byPool[poolKey{driver, pool}]
}
