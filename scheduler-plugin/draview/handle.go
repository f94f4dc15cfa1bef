package draview

import (
	"context"
	"slices"
	"sync"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// handle is the framework handle the upstream plugin is built on: the
// scheduler's, except for the DRA manager. Every other method is the
// scheduler's own.
type handle struct {
	fwk.Handle
	dra fwk.SharedDRAManager
}

func (h handle) SharedDRAManager() fwk.SharedDRAManager { return h.dra }

// manager is the scheduler's DRA manager with ResourceSlices listed
// through the view. Claims, their in-flight tracking and device classes
// are the scheduler's, shared with every other profile.
type manager struct {
	fwk.SharedDRAManager
	view *view
}

func (m manager) ResourceSlices() fwk.ResourceSliceLister { return m.view }

// view lists ResourceSlices with hadron pools in preference order. It
// remembers the last snapshot so that the plugin can hand it to the score
// plugins of the same cycle.
type view struct {
	src    *model.Source
	logger klog.Logger

	mu   sync.Mutex
	seq  uint64
	last *model.Snapshot
	// demand is the unallocated claims of the pod being scheduled, set
	// around the upstream PreFilter: the order depends on its request
	// sizes. Nil orders for single-device requests.
	demand *model.Demand
}

// ListWithDeviceTaintRules implements fwk.ResourceSliceLister. When the
// model cannot be built, the slices are returned as the scheduler lists
// them: the allocator then works as upstream's does.
func (v *view) ListWithDeviceTaintRules() ([]*resourceapi.ResourceSlice, error) {
	v.mu.Lock()
	demand := v.demand
	v.mu.Unlock()
	snap, err := v.src.SnapshotFor(klog.NewContext(context.Background(), v.logger), demand)
	if err != nil {
		v.logger.V(3).Info("Showing devices in published order: no model", "err", err)
		return v.src.DRA().ResourceSlices().ListWithDeviceTaintRules()
	}
	v.mu.Lock()
	v.seq++
	v.last = snap
	v.mu.Unlock()
	// The caller owns the list it gets; the snapshot keeps its own.
	return slices.Clone(snap.Slices), nil
}

// forPod orders the following listings for a pod with the given demand
// (nil: single-device requests).
func (v *view) forPod(demand *model.Demand) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.demand = demand
}

// mark returns a token for since.
func (v *view) mark() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seq
}

// since returns the snapshot of the latest listing after mark, or nil when
// there was none.
func (v *view) since(mark uint64) *model.Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seq == mark {
		return nil
	}
	return v.last
}
