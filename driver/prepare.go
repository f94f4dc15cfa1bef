package driver

import (
	"context"
	"errors"
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver/cdi"
	"github.com/hadron-sched/hadron/driver/checkpoint"
)

// claims is the prepare/unprepare state machine of one driver. Callers hold
// the Driver's mutex.
type claims struct {
	family Family
	store  *checkpoint.Store
	cdi    *cdi.Writer
	state  *checkpoint.Checkpoint
}

// prepare makes one claim ready, or leaves the node exactly as before.
func (c *claims) prepare(ctx context.Context, claim *resourceapi.ResourceClaim) ([]kubeletplugin.Device, error) {
	logger := klog.FromContext(ctx)
	if prior, ok := c.state.Claims[claim.UID]; ok {
		if prior.State == checkpoint.PrepareCompleted {
			logger.V(4).Info("Claim already prepared", "claim", klog.KObj(claim))
			return kubeletDevices(prior.Devices), nil
		}
		// A previous attempt died half-way and its roll-back failed too.
		if err := c.rollBack(ctx, claim.UID); err != nil {
			return nil, fail(reasonRollBack, fmt.Errorf("roll back earlier attempt: %w", err))
		}
	}
	if claim.Status.Allocation == nil {
		return nil, fail(reasonNotAllocated, fmt.Errorf("claim %s is not allocated", klog.KObj(claim)))
	}
	var results []resourceapi.DeviceRequestAllocationResult
	for _, r := range claim.Status.Allocation.Devices.Results {
		if r.Driver == c.family.DriverName() {
			results = append(results, r)
		}
	}
	if err := c.checkNotInUse(claim.UID, results); err != nil {
		return nil, fail(reasonDeviceInUse, err)
	}

	// Record intent first: after a crash from here on, the start-up
	// roll-back knows which devices to clean up.
	started := &checkpoint.Claim{Namespace: claim.Namespace, Name: claim.Name, State: checkpoint.PrepareStarted}
	for _, r := range results {
		started.Devices = append(started.Devices, checkpoint.Device{Requests: []string{r.Request}, Pool: r.Pool, Device: r.Device, ShareID: r.ShareID})
	}
	c.state.Claims[claim.UID] = started
	if err := c.store.Save(c.state); err != nil {
		delete(c.state.Claims, claim.UID)
		return nil, fail(reasonCheckpoint, fmt.Errorf("record prepare start: %w", err))
	}

	devices, err := c.apply(ctx, claim, results)
	if err != nil {
		if rbErr := c.rollBack(ctx, claim.UID); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return nil, err
	}
	return kubeletDevices(devices), nil
}

// apply runs the family, writes the CDI spec and marks the claim completed.
func (c *claims) apply(ctx context.Context, claim *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]checkpoint.Device, error) {
	prepared, err := c.family.Prepare(ctx, claim, results)
	if err != nil {
		return nil, fail(reasonDeviceSetup, fmt.Errorf("prepare devices: %w", err))
	}
	var cdiDevices []cdi.Device
	var devices []checkpoint.Device
	for _, p := range prepared {
		name := p.Result.Device
		if p.Result.ShareID != nil {
			name += "-" + string(*p.Result.ShareID)
		}
		cdiDevices = append(cdiDevices, cdi.Device{Name: name, Edits: p.Edits})
		devices = append(devices, checkpoint.Device{
			Requests:     []string{p.Result.Request},
			Pool:         p.Result.Pool,
			Device:       p.Result.Device,
			ShareID:      p.Result.ShareID,
			CDIDeviceIDs: []string{c.cdi.DeviceID(claim.UID, name)},
			State:        p.State,
		})
	}
	// Keep what the family did in the checkpoint before anything else can
	// fail, so that a roll-back or a restart can undo it.
	c.state.Claims[claim.UID].Devices = devices
	if err := c.cdi.Write(claim.UID, cdiDevices); err != nil {
		return nil, fail(reasonCDI, err)
	}
	c.state.Claims[claim.UID].State = checkpoint.PrepareCompleted
	if err := c.store.Save(c.state); err != nil {
		return nil, fail(reasonCheckpoint, fmt.Errorf("record prepare completion: %w", err))
	}
	return devices, nil
}

// checkNotInUse is the driver's last line of defence against handing one
// exclusive device to two claims, should anything upstream go wrong.
func (c *claims) checkNotInUse(uid types.UID, results []resourceapi.DeviceRequestAllocationResult) error {
	for _, r := range results {
		if !Exclusive(r) {
			continue
		}
		for otherUID, other := range c.state.Claims {
			if otherUID == uid {
				continue
			}
			for _, d := range other.Devices {
				if d.Pool == r.Pool && d.Device == r.Device {
					return fmt.Errorf("device %s/%s is already prepared for claim %s/%s (%s)", r.Pool, r.Device, other.Namespace, other.Name, otherUID)
				}
			}
		}
	}
	return nil
}

// unprepare undoes one claim; an unknown claim is already unprepared.
func (c *claims) unprepare(ctx context.Context, uid types.UID) error {
	if _, ok := c.state.Claims[uid]; !ok {
		klog.FromContext(ctx).V(4).Info("Claim not prepared, nothing to do", "claimUID", uid)
		return nil
	}
	return c.rollBack(ctx, uid)
}

// rollBack removes everything a claim has on the node, then forgets it.
func (c *claims) rollBack(ctx context.Context, uid types.UID) error {
	entry := c.state.Claims[uid]
	if err := c.family.Unprepare(ctx, uid, entry.Devices); err != nil {
		return fail(reasonDeviceTeardown, fmt.Errorf("unprepare devices: %w", err))
	}
	if err := c.cdi.Remove(uid); err != nil {
		return fail(reasonCDI, err)
	}
	delete(c.state.Claims, uid)
	if err := c.store.Save(c.state); err != nil {
		c.state.Claims[uid] = entry
		return fail(reasonCheckpoint, fmt.Errorf("record unprepare: %w", err))
	}
	return nil
}

// recover rolls back claims whose preparation was interrupted by a crash.
func (c *claims) recover(ctx context.Context) error {
	var errs []error
	for uid, entry := range c.state.Claims {
		if entry.State != checkpoint.PrepareStarted {
			continue
		}
		klog.FromContext(ctx).Info("Rolling back interrupted prepare", "claim", klog.KRef(entry.Namespace, entry.Name), "claimUID", uid)
		if err := c.rollBack(ctx, uid); err != nil {
			errs = append(errs, fmt.Errorf("claim %s: %w", uid, err))
		}
	}
	return errors.Join(errs...)
}

func kubeletDevices(devices []checkpoint.Device) []kubeletplugin.Device {
	out := make([]kubeletplugin.Device, 0, len(devices))
	for _, d := range devices {
		out = append(out, kubeletplugin.Device{Requests: d.Requests, PoolName: d.Pool, DeviceName: d.Device, CDIDeviceIDs: d.CDIDeviceIDs, ShareID: d.ShareID})
	}
	return out
}
