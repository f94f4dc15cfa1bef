package model

import fwk "k8s.io/kube-scheduler/framework"

// snapshotKey is where the HadronDynamicResources plugin leaves the
// snapshot its view showed the allocator, and the pod's demand it was
// ordered for, for the score plugins of the same scheduling cycle.
const snapshotKey fwk.StateKey = "hadron.dev/model-snapshot"

type snapshotData struct {
	snap   *Snapshot
	demand *Demand
}

// Clone shares the data: it is read-only.
func (d *snapshotData) Clone() fwk.StateData { return d }

// WriteSnapshot records the cycle's snapshot and the demand of the pod it
// was ordered for (nil for a pod without claims).
func WriteSnapshot(cs fwk.CycleState, snap *Snapshot, demand *Demand) {
	cs.Write(snapshotKey, &snapshotData{snap: snap, demand: demand})
}

// ReadSnapshot returns the cycle's snapshot and the pod's demand, or nils
// when none was recorded.
func ReadSnapshot(cs fwk.CycleState) (*Snapshot, *Demand) {
	data, err := cs.Read(snapshotKey)
	if err != nil {
		return nil, nil
	}
	if d, ok := data.(*snapshotData); ok {
		return d.snap, d.demand
	}
	return nil, nil
}
