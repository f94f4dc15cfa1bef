package model

import fwk "k8s.io/kube-scheduler/framework"

// snapshotKey is where the HadronDynamicResources plugin leaves the
// snapshot its view showed the allocator, for the score plugins of the
// same scheduling cycle.
const snapshotKey fwk.StateKey = "hadron.dev/model-snapshot"

type snapshotData struct{ snap *Snapshot }

// Clone shares the snapshot: it is read-only.
func (d *snapshotData) Clone() fwk.StateData { return d }

// WriteSnapshot records the cycle's snapshot.
func WriteSnapshot(cs fwk.CycleState, snap *Snapshot) {
	cs.Write(snapshotKey, &snapshotData{snap: snap})
}

// ReadSnapshot returns the cycle's snapshot, or nil when none was recorded.
func ReadSnapshot(cs fwk.CycleState) *Snapshot {
	data, err := cs.Read(snapshotKey)
	if err != nil {
		return nil
	}
	if d, ok := data.(*snapshotData); ok {
		return d.snap
	}
	return nil
}
