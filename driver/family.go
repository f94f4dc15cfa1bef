// Package driver is the part of hadron's kubelet plugin that every device
// family shares: the kubelet gRPC wiring, ResourceSlice publishing, and the
// all-or-nothing, crash-safe, idempotent prepare/unprepare state machine
// (checkpoint → family → CDI → checkpoint). Device families (driver/gpu,
// driver/cpu, driver/nic) only describe their devices and say what a
// container needs to use them.
package driver

import (
	"context"
	"encoding/json"
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/checkpoint"
)

// Family is one device family published by one DRA driver.
type Family interface {
	// DriverName is the DRA driver name, e.g. gpu.hadron.dev.
	DriverName() string
	// Resources describes the node's devices for ResourceSlice publishing.
	Resources(ctx context.Context) (resourceslice.DriverResources, error)
	// Prepare returns what a container needs to use each device allocated
	// to the claim by this driver. It must be deterministic for the same
	// claim, and everything it changes on the node must be described by the
	// returned State so that Unprepare can undo it after a restart.
	Prepare(ctx context.Context, claim *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]PreparedDevice, error)
	// Unprepare undoes Prepare for devices of a claim. It is also called to
	// roll back a half-done Prepare, so it must tolerate devices that were
	// never (or only partly) set up.
	Unprepare(ctx context.Context, claimUID types.UID, devices []checkpoint.Device) error
}

// PreparedDevice is one allocated device made ready for a container.
type PreparedDevice struct {
	Result resourceapi.DeviceRequestAllocationResult
	Edits  cdispec.ContainerEdits
	// State is kept in the checkpoint and handed back to Unprepare.
	State json.RawMessage
}

// CheckResult refuses an allocation result that is not this driver's on
// this node: every family publishes one pool, named after the node.
func CheckResult(driverName, nodeName string, r resourceapi.DeviceRequestAllocationResult) error {
	switch {
	case r.Driver != driverName:
		return fmt.Errorf("device %s/%s belongs to driver %q, not %s", r.Pool, r.Device, r.Driver, driverName)
	case r.Pool != nodeName:
		return fmt.Errorf("device %s/%s is not from this node's pool %q", r.Pool, r.Device, nodeName)
	}
	return nil
}

// NewPreparedDevice is a prepared device whose State is state as JSON.
func NewPreparedDevice(r resourceapi.DeviceRequestAllocationResult, edits cdispec.ContainerEdits, state any) (PreparedDevice, error) {
	raw, err := json.Marshal(state)
	if err != nil {
		return PreparedDevice{}, fmt.Errorf("encode prepared state: %w", err)
	}
	return PreparedDevice{Result: r, Edits: edits, State: raw}, nil
}

// Exclusive reports whether the device behind an allocation result is
// exclusively owned by one claim. Results with a share ID come from devices
// that allow multiple allocations.
func Exclusive(r resourceapi.DeviceRequestAllocationResult) bool {
	return r.ShareID == nil
}

// Reconciler is implemented by families that keep state on the node
// outside the checkpoint (for example MIG partitions). After a restart,
// once interrupted prepares are rolled back, Reconcile gets every device of
// the prepared claims and removes whatever belongs to none of them.
type Reconciler interface {
	Reconcile(ctx context.Context, prepared []checkpoint.Device) error
}
