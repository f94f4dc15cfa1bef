package alignment

import (
	"sync"

	resourceapi "k8s.io/api/resource/v1"
)

// maxVerdicts bounds the selector verdicts kept across pods; the cache is
// emptied when it is full (informer updates replace device objects, so old
// entries are never hit again and must not pile up).
const maxVerdicts = 1 << 16

// verdicts remembers whether a device passed a selector set. Pods of one
// workload share their claims' selectors and see the same informer device
// objects, so on a large cluster most of Filter's CEL evaluations repeat
// those of the previous pod; a device object is immutable while the
// informer holds it, so a verdict for it stays true until it is replaced.
// Filter runs in parallel over nodes: the cache is locked.
type verdicts struct {
	mu sync.Mutex
	m  map[verdictKey]bool
}

type verdictKey struct {
	device    *resourceapi.Device
	selectors string
}

func newVerdicts() *verdicts { return &verdicts{m: make(map[verdictKey]bool)} }

func (v *verdicts) get(k verdictKey) (selected, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	selected, ok = v.m[k]
	return selected, ok
}

func (v *verdicts) put(k verdictKey, selected bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerdicts {
		clear(v.m)
	}
	v.m[k] = selected
}
