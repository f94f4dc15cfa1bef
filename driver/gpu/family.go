package gpu

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/driver/gpu/api/v1alpha1"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Family is the GPU device family. It is safe for concurrent use.
type Family struct {
	nodeName  string
	lib       nvml.Interface
	sysfsRoot string
	cfg       *config.Config

	// sharingCtl applies time slices and MPS daemons; mpsRoot holds the
	// daemons' pipe and log directories.
	sharingCtl SharingControl
	mpsRoot    string

	mu      sync.Mutex
	host    *Host
	devices map[string]deviceInfo // by DRA device name, from the last discovery
	health  healthState
	sharing map[string]*gpuSharing // by GPU UUID
}

var (
	_ driver.Family        = &Family{}
	_ driver.Reconciler    = &Family{}
	_ driver.Watcher       = &Family{}
	_ driver.HealthChecker = &Family{}
)

type deviceKind int

const (
	kindWhole deviceKind = iota
	kindMIG
	kindShared
)

// deviceInfo is what prepare needs to know about a published device.
type deviceInfo struct {
	kind deviceKind
	gpu  GPU
	// For MIG partitions: the profile and placement. For the whole-GPU
	// device of a GPU in MIG mode: the full-size profile, which is how a
	// whole MIG-mode GPU is handed out.
	mig       *migProfile
	placement nvml.GpuInstancePlacement
}

// NewFamily returns the GPU family for nodeName. lib must be initialised
// (nvml.Init) by the caller, who also shuts it down. cfg chooses each GPU's
// mode; nil means every GPU is published whole.
func NewFamily(nodeName string, lib nvml.Interface, sysfsRoot string, cfg *config.Config) *Family {
	if cfg == nil {
		cfg = config.Default(config.ModeWhole)
	}
	return &Family{nodeName: nodeName, lib: lib, sysfsRoot: sysfsRoot, cfg: cfg,
		sharingCtl: NVIDIATools{}, mpsRoot: "/run/hadron/mps"}
}

// SetSharing replaces how sharing strategies are applied (NVIDIA's tools by
// default) and where MPS daemons keep their pipes (empty keeps the
// default).
func (f *Family) SetSharing(ctl SharingControl, mpsRoot string) {
	f.sharingCtl = ctl
	if mpsRoot != "" {
		f.mpsRoot = mpsRoot
	}
}

// DriverName implements driver.Family.
func (f *Family) DriverName() string { return attrs.GPUDriver }

// Host re-discovers the GPUs and returns what was found.
func (f *Family) Host() (*Host, error) {
	host, _, _, err := f.discover()
	return host, err
}

// ModeOf is the configured mode of a GPU.
func (f *Family) ModeOf(g GPU) config.Mode {
	return f.cfg.ModeFor(config.GPUIdentity{Index: g.Index, UUID: g.UUID, Model: g.ProductName})
}

// discover reads the GPUs and builds their devices in the configured modes.
func (f *Family) discover() (*Host, []resourceapi.Device, []resourceapi.CounterSet, error) {
	host, err := Discover(f.lib, f.sysfsRoot)
	if err != nil {
		return nil, nil, nil, err
	}
	var devices []resourceapi.Device
	var counters []resourceapi.CounterSet
	index := map[string]deviceInfo{}
	for _, g := range host.GPUs {
		first := len(devices)
		switch f.ModeOf(g) {
		case config.ModeMIG:
			layout, err := f.migLayout(g)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("GPU %d (%s): %w", g.Index, g.UUID, err)
			}
			counters = append(counters, migCounterSet(g, layout))
			full := fullProfile(layout)
			devices = append(devices, migDevices(host, g, layout)...)
			index[DeviceName(g.UUID)] = deviceInfo{kind: kindWhole, gpu: g, mig: &full, placement: full.Placements[0]}
			for i := range layout.Profiles {
				p := &layout.Profiles[i]
				for _, pl := range p.Placements {
					index[MIGDeviceName(g.UUID, *p, pl.Start)] = deviceInfo{kind: kindMIG, gpu: g, mig: p, placement: pl}
				}
			}
		case config.ModeShared:
			devices = append(devices, sharedDevice(host, g, f.cfg.Shared))
			index[DeviceName(g.UUID)] = deviceInfo{kind: kindShared, gpu: g}
		default:
			devices = append(devices, wholeDevice(host, g))
			index[DeviceName(g.UUID)] = deviceInfo{kind: kindWhole, gpu: g}
		}
		f.taintUnhealthy(g, devices[first:])
	}
	f.mu.Lock()
	f.host, f.devices = host, index
	f.mu.Unlock()
	return host, devices, counters, nil
}

// migLayout reads a MIG-mode GPU's profiles. MIG mode itself is the
// admin's choice (nvidia-smi -mig 1): the driver never changes it.
func (f *Family) migLayout(g GPU) (*migLayout, error) {
	dev, ret := f.lib.DeviceGetHandleByUUID(g.UUID)
	if ret != nvml.SUCCESS {
		return nil, nvmlError("find GPU", ret)
	}
	current, _, ret := dev.GetMigMode()
	if ret != nvml.SUCCESS || current != nvml.DEVICE_MIG_ENABLE {
		return nil, fmt.Errorf("configured for MIG but MIG mode is off: enable it (nvidia-smi -i %d -mig 1) or choose another mode for this GPU", g.Index)
	}
	return discoverMIG(dev, g.MemoryBytes>>20, f.cfg.MIG.Profiles)
}

// fullProfile is the profile that takes the whole GPU.
func fullProfile(layout *migLayout) migProfile {
	best := layout.Profiles[0]
	for _, p := range layout.Profiles[1:] {
		if p.SliceCount > best.SliceCount || (p.SliceCount == best.SliceCount && p.MemoryBytes > best.MemoryBytes) {
			best = p
		}
	}
	return best
}

// Resources implements driver.Family: one pool named after the node, with
// counter sets (MIG) in slices of their own.
func (f *Family) Resources(context.Context) (resourceslice.DriverResources, error) {
	_, devices, counters, err := f.discover()
	if err != nil {
		return resourceslice.DriverResources{}, err
	}
	slices := append(driver.CounterSlices(counters), driver.SplitSlices(devices)...)
	return resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{f.nodeName: {Slices: slices}}}, nil
}

// discovered is the last discovery, or a first one if there was none
// (after a restart, prepare, roll-back and the health watch may come
// before the first publish). Later discoveries come from publishing.
func (f *Family) discovered() (*Host, map[string]deviceInfo, error) {
	f.mu.Lock()
	host, devices := f.host, f.devices
	f.mu.Unlock()
	if host != nil {
		return host, devices, nil
	}
	host, _, _, err := f.discover()
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return host, f.devices, nil
}

// lookup finds a published device.
func (f *Family) lookup(name string) (deviceInfo, error) {
	_, devices, err := f.discovered()
	if err != nil {
		return deviceInfo{}, err
	}
	info, ok := devices[name]
	if !ok {
		return deviceInfo{}, fmt.Errorf("device %q is not a GPU device on node %s", name, f.nodeName)
	}
	return info, nil
}

// Prepare implements driver.Family. Every device's configuration is
// decoded and validated before anything is created, so that bad input
// never leaves a half-prepared claim.
func (f *Family) Prepare(ctx context.Context, claim *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]driver.PreparedDevice, error) {
	configs, err := claimConfigs(claim)
	if err != nil {
		return nil, err
	}
	infos := make([]deviceInfo, len(results))
	for i, r := range results {
		if err := driver.CheckResult(attrs.GPUDriver, f.nodeName, r); err != nil {
			return nil, fmt.Errorf("request %q: %w", r.Request, err)
		}
		if infos[i], err = f.lookup(r.Device); err != nil {
			return nil, fmt.Errorf("request %q: %w", r.Request, err)
		}
	}
	out := make([]driver.PreparedDevice, 0, len(results))
	for i, r := range results {
		p, err := f.prepareOne(ctx, r, infos[i], configs.For(r.Request))
		if err != nil {
			// Undo this call's devices now: the driver's roll-back only
			// knows device names, not the shares counted here.
			for _, done := range out {
				if undoErr := f.unprepareOne(ctx, done.Result.Device, done.State); undoErr != nil {
					klog.FromContext(ctx).Error(undoErr, "Undoing a partly prepared claim", "device", done.Result.Device)
				}
			}
			return nil, fmt.Errorf("request %q, device %s: %w", r.Request, r.Device, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (f *Family) prepareOne(ctx context.Context, r resourceapi.DeviceRequestAllocationResult, info deviceInfo, cfg *v1alpha1.GpuConfig) (driver.PreparedDevice, error) {
	switch {
	case info.mig != nil:
		rec, err := createMIG(f.lib, info.gpu.UUID, *info.mig, info.placement)
		if err != nil {
			return driver.PreparedDevice{}, err
		}
		klog.FromContext(ctx).V(2).Info("Created MIG device", "gpu", info.gpu.UUID, "profile", info.mig.Name, "start", info.placement.Start, "uuid", rec.UUID)
		return driver.NewPreparedDevice(r, migEdits(info.gpu, rec), rec)
	case info.kind == kindShared:
		share, err := shareOf(r, info.gpu, cfg, f.cfg.Shared)
		if err != nil {
			return driver.PreparedDevice{}, err
		}
		if err := f.acquireSharing(ctx, share); err != nil {
			return driver.PreparedDevice{}, err
		}
		edits := sharedEdits(info.gpu, share)
		if share.Strategy == string(v1alpha1.MPS) {
			mps := f.mpsEdits(info.gpu.UUID)
			edits.Env = append(edits.Env, mps.Env...)
			edits.Mounts = append(edits.Mounts, mps.Mounts...)
		}
		return driver.NewPreparedDevice(r, edits, share)
	default:
		return driver.NewPreparedDevice(r, containerEdits(info.gpu), preparedGPU{UUID: info.gpu.UUID, Minor: info.gpu.Minor})
	}
}

// Unprepare implements driver.Family: MIG partitions are destroyed (found by
// their placement, so this also cleans up after a crash mid-prepare); a
// shared GPU's last share of a strategy undoes the GPU-wide setting; whole
// GPUs leave nothing to undo.
func (f *Family) Unprepare(ctx context.Context, _ types.UID, devices []checkpoint.Device) error {
	for _, d := range devices {
		if err := f.unprepareOne(ctx, d.Device, d.State); err != nil {
			return fmt.Errorf("device %s: %w", d.Device, err)
		}
	}
	return nil
}

// unprepareOne undoes one device. state is empty for devices whose prepare
// never completed.
func (f *Family) unprepareOne(ctx context.Context, name string, state json.RawMessage) error {
	info, err := f.lookup(name)
	if err != nil {
		klog.FromContext(ctx).Info("Unpreparing a device that is no longer published", "device", name, "err", err)
		return nil
	}
	switch {
	case info.mig != nil:
		return destroyMIG(f.lib, info.gpu.UUID, info.placement.Start)
	case info.kind == kindShared && len(state) > 0:
		var s share
		if err := json.Unmarshal(state, &s); err != nil {
			return fmt.Errorf("decode prepared share: %w", err)
		}
		return f.releaseSharing(ctx, s)
	}
	return nil
}

// Reconcile implements driver.Reconciler: MIG partitions on the node that
// belong to no prepared claim (left by a crash, or created by hand) are
// destroyed, so that their slices can be allocated again.
func (f *Family) Reconcile(ctx context.Context, prepared []checkpoint.Device) error {
	host, _, _, err := f.discover()
	if err != nil {
		return err
	}
	type placement struct {
		uuid  string
		start uint32
	}
	keep := map[placement]bool{}
	f.mu.Lock()
	f.sharing = nil // rebuilt from the prepared shares below
	f.mu.Unlock()
	for _, d := range prepared {
		info, err := f.lookup(d.Device)
		if err != nil {
			continue
		}
		if info.mig != nil {
			keep[placement{info.gpu.UUID, info.placement.Start}] = true
		}
		if info.kind == kindShared && len(d.State) > 0 {
			f.countShare(d.State)
		}
	}
	for _, g := range host.GPUs {
		if f.ModeOf(g) != config.ModeMIG {
			continue
		}
		instances, err := instancesOn(f.lib, g.UUID)
		if err != nil {
			return err
		}
		sort.Slice(instances, func(i, j int) bool { return instances[i].start < instances[j].start })
		for _, in := range instances {
			if keep[placement{g.UUID, in.start}] {
				continue
			}
			klog.FromContext(ctx).Info("Destroying MIG partition that belongs to no claim", "gpu", g.UUID, "start", in.start)
			if err := destroyInstance(in.gi); err != nil {
				return fmt.Errorf("GPU %s: orphaned partition at memory slice %d: %w", g.UUID, in.start, err)
			}
		}
	}
	return nil
}

// countShare re-counts a share prepared before a restart; the GPU-wide
// setting it needed is already in place.
func (f *Family) countShare(state json.RawMessage) {
	var s share
	if json.Unmarshal(state, &s) != nil {
		return
	}
	st := f.sharingOf(s.UUID)
	if s.Strategy == string(v1alpha1.MPS) {
		st.mps++
		return
	}
	st.timeSliced++
	st.level, _ = v1alpha1.TimeSliceInterval(s.Interval).Level()
}
