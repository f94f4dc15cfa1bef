package simhw

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/hadron-sched/hadron/pkg/nvidia"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// MIG partitioning as the hardware enforces it. The go-nvml mock accepts
// any instance anywhere, in any MIG mode; a driver tested against that
// would never see the refusals real GPUs give. The simulation therefore
// keeps its own instances and checks every creation against the GPU's
// profile tables:
//
//   - MIG calls answer ERROR_NOT_SUPPORTED unless MIG mode is enabled
//     (and always on a GPU without MIG profiles);
//   - a GPU instance must use one of its profile's possible placements
//     (ERROR_INVALID_ARGUMENT otherwise), must not overlap the memory
//     slices [Start, Start+Size) of another instance, must fit the GPU's
//     compute slices and its profile's instance count
//     (ERROR_INSUFFICIENT_RESOURCES otherwise);
//   - compute instances are checked the same way inside their GPU
//     instance, and a GPU instance that still has some cannot be destroyed
//     (ERROR_IN_USE);
//   - every compute instance is a MIG device, with a handle, a UUID
//     derived from the parent's UUID and the instance IDs, and the
//     instance's memory.
//
// One mutex per GPU guards its mode, its instances and their liveness: MIG
// operations are rare and short, and legality checks look at every
// instance of the GPU at once.

// migState is the MIG side of one simulated GPU.
type migState struct {
	mu      sync.Mutex
	enabled bool
	gis     []*gpuInstance // sorted by ID, so listings are stable
}

// staleHandle is what every simulated call on a destroyed instance or MIG
// device answers: NVML documents such handles as invalid.
const staleHandle = nvml.ERROR_INVALID_ARGUMENT

// wholeDevice is the instance ID NVML reports in events that concern the
// whole GPU rather than one GPU or compute instance.
const wholeDevice = math.MaxUint32

// maxComputeSlices is the number of compute slices of a model: the slice
// count of its largest GPU instance profile (7g on A100/H100, 4g on A30),
// 0 without MIG support. It is also the most MIG devices the GPU can hold,
// since each needs at least one slice.
func maxComputeSlices(profiles map[int]nvml.GpuInstanceProfileInfo) int {
	most := 0
	for _, p := range profiles {
		most = max(most, int(p.SliceCount))
	}
	return most
}

// wireMIG installs the MIG calls on a GPU's mock device. Profile
// information (GetGpuInstanceProfileInfo) stays the mock's: it only reads
// the profile table, and NVML answers it whatever the MIG mode.
func (n *NVML) wireMIG(g *simGPU) {
	d := g.dev
	d.SetMigModeFunc = func(mode int) (nvml.Return, nvml.Return) {
		ret := g.setMigMode(mode)
		// go-nvml returns (activationStatus, ret). The simulation applies
		// the mode at once (no reset), so both carry the outcome and a
		// caller checking either one sees a failure.
		return ret, ret
	}
	d.GetMigModeFunc = func() (int, int, nvml.Return) {
		if g.maxSlices == 0 {
			return 0, 0, nvml.ERROR_NOT_SUPPORTED
		}
		g.mig.mu.Lock()
		defer g.mig.mu.Unlock()
		mode := nvml.DEVICE_MIG_DISABLE
		if g.mig.enabled {
			mode = nvml.DEVICE_MIG_ENABLE
		}
		// Changes apply immediately, so nothing is ever pending.
		return mode, mode, nvml.SUCCESS
	}
	d.GetGpuInstancePossiblePlacementsFunc = func(info *nvml.GpuInstanceProfileInfo) ([]nvml.GpuInstancePlacement, nvml.Return) {
		if info == nil {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		if _, ret := g.giProfile(info.Id); ret != nvml.SUCCESS {
			return nil, ret
		}
		// NVML lists placements regardless of the MIG mode.
		return g.giPlacements(info.Id), nvml.SUCCESS
	}
	d.CreateGpuInstanceFunc = func(info *nvml.GpuInstanceProfileInfo) (nvml.GpuInstance, nvml.Return) {
		if info == nil {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		return g.createGpuInstance(info.Id, nil)
	}
	d.CreateGpuInstanceWithPlacementFunc = func(info *nvml.GpuInstanceProfileInfo, p *nvml.GpuInstancePlacement) (nvml.GpuInstance, nvml.Return) {
		if info == nil || p == nil {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		return g.createGpuInstance(info.Id, p)
	}
	d.GetGpuInstancesFunc = func(info *nvml.GpuInstanceProfileInfo) ([]nvml.GpuInstance, nvml.Return) {
		if info == nil {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		return g.gpuInstances(info.Id)
	}
	d.GetGpuInstanceByIdFunc = func(id int) (nvml.GpuInstance, nvml.Return) {
		return g.gpuInstanceByID(id)
	}
	d.GetGpuInstanceRemainingCapacityFunc = func(info *nvml.GpuInstanceProfileInfo) (int, nvml.Return) {
		if info == nil {
			return 0, nvml.ERROR_INVALID_ARGUMENT
		}
		return g.gpuInstanceCapacity(info.Id)
	}
	d.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) {
		if g.maxSlices == 0 {
			return 0, nvml.ERROR_NOT_SUPPORTED
		}
		g.mig.mu.Lock()
		defer g.mig.mu.Unlock()
		// NVML: "Returns zero if MIG is not supported or enabled".
		if !g.mig.enabled {
			return 0, nvml.SUCCESS
		}
		return g.maxSlices, nvml.SUCCESS
	}
	d.GetMigDeviceHandleByIndexFunc = func(index int) (nvml.Device, nvml.Return) {
		return g.migDeviceByIndex(index)
	}
	// A full GPU is never a MIG device handle and has no parent.
	d.IsMigDeviceHandleFunc = func() (bool, nvml.Return) { return false, nvml.SUCCESS }
	d.GetDeviceHandleFromMigDeviceHandleFunc = func() (nvml.Device, nvml.Return) {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
}

func (g *simGPU) setMigMode(mode int) nvml.Return {
	if g.maxSlices == 0 {
		return nvml.ERROR_NOT_SUPPORTED
	}
	if mode != nvml.DEVICE_MIG_DISABLE && mode != nvml.DEVICE_MIG_ENABLE {
		return nvml.ERROR_INVALID_ARGUMENT
	}
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	// Leaving MIG mode resets the GPU, which the driver refuses while GPU
	// instances exist (nvidia-smi: "In use by another client").
	if mode == nvml.DEVICE_MIG_DISABLE && len(g.mig.gis) > 0 {
		return nvml.ERROR_IN_USE
	}
	g.mig.enabled = mode == nvml.DEVICE_MIG_ENABLE
	return nvml.SUCCESS
}

// readyLocked reports whether MIG calls may proceed.
func (g *simGPU) readyLocked() nvml.Return {
	if g.maxSlices == 0 || !g.mig.enabled {
		return nvml.ERROR_NOT_SUPPORTED
	}
	return nvml.SUCCESS
}

// giProfile looks a GPU instance profile up in the model's table: IDs
// outside NVML's range are invalid, IDs the model lacks unsupported, as
// GetGpuInstanceProfileInfo answers.
func (g *simGPU) giProfile(id uint32) (nvml.GpuInstanceProfileInfo, nvml.Return) {
	if id >= nvml.GPU_INSTANCE_PROFILE_COUNT {
		return nvml.GpuInstanceProfileInfo{}, nvml.ERROR_INVALID_ARGUMENT
	}
	p, ok := g.dev.Config.MIGProfiles.GpuInstanceProfiles[int(id)]
	if !ok {
		return nvml.GpuInstanceProfileInfo{}, nvml.ERROR_NOT_SUPPORTED
	}
	return p, nvml.SUCCESS
}

// giPlacements returns a copy of a profile's possible placements: the
// table is shared by every GPU of the model and must not be handed out.
func (g *simGPU) giPlacements(id uint32) []nvml.GpuInstancePlacement {
	p := slices.Clone(g.dev.Config.MIGProfiles.GpuInstancePlacements[int(id)])
	if p == nil {
		p = []nvml.GpuInstancePlacement{}
	}
	return p
}

// slot is the room one instance takes: a GPU instance the memory slices
// [start, start+size) of its GPU, a compute instance the compute slices
// [start, start+size) of its GPU instance; either takes slices compute
// slices.
type slot struct {
	profile, slices, start, size uint32
}

func giSlot(p nvml.GpuInstanceProfileInfo, pl nvml.GpuInstancePlacement) slot {
	return slot{profile: p.Id, slices: p.SliceCount, start: pl.Start, size: pl.Size}
}

func ciSlot(p nvml.ComputeInstanceProfileInfo, pl nvml.ComputeInstancePlacement) slot {
	return slot{profile: p.Id, slices: p.SliceCount, start: pl.Start, size: pl.Size}
}

// fits reports whether s can join the existing slots: its range is free,
// the compute slices of all stay within capacity, and its profile, which
// allows limit instances, has one left.
func (s slot) fits(existing []slot, limit, capacity uint32) bool {
	used, same := s.slices, uint32(0)
	for _, e := range existing {
		if e.start < s.start+s.size && s.start < e.start+e.size {
			return false
		}
		used += e.slices
		if e.profile == s.profile {
			same++
		}
	}
	return used <= capacity && same < limit
}

// partition is what a new instance of one profile is checked against, at
// either level: GPU instances on their GPU (P is GpuInstancePlacement) and
// compute instances in their GPU instance (ComputeInstancePlacement).
type partition[P comparable] struct {
	taken    []slot // the existing instances
	legal    []P    // the profile's possible placements, in table order
	slotAt   func(P) slot
	limit    uint32 // instances the profile allows
	capacity uint32 // compute slices of the GPU or GPU instance
}

func (pt partition[P]) fits(pl P) bool { return pt.slotAt(pl).fits(pt.taken, pt.limit, pt.capacity) }

// place picks the new instance's placement: want, which must be legal
// (ERROR_INVALID_ARGUMENT) and fit (ERROR_INSUFFICIENT_RESOURCES), or
// without one the first legal placement that fits. Real NVML picks some
// free placement; the first keeps the simulation deterministic.
func (pt partition[P]) place(want *P) (P, nvml.Return) {
	var none P
	switch {
	case want == nil:
		if i := slices.IndexFunc(pt.legal, pt.fits); i >= 0 {
			return pt.legal[i], nvml.SUCCESS
		}
		return none, nvml.ERROR_INSUFFICIENT_RESOURCES
	case !slices.Contains(pt.legal, *want):
		return none, nvml.ERROR_INVALID_ARGUMENT
	case !pt.fits(*want):
		return none, nvml.ERROR_INSUFFICIENT_RESOURCES
	}
	return *want, nvml.SUCCESS
}

// remaining counts how many new instances fit, placed first-fit one after
// the other: placing one never makes an earlier placement fit again, so
// one pass suffices.
func (pt partition[P]) remaining() int {
	n := len(pt.taken)
	pt.taken = slices.Clone(pt.taken)
	for _, pl := range pt.legal {
		if pt.fits(pl) {
			pt.taken = append(pt.taken, pt.slotAt(pl))
		}
	}
	return len(pt.taken) - n
}

// lowestFreeID returns the lowest instance ID that none of sorted, ordered
// by ID, uses, so IDs are reused deterministically. It is also the index
// at which an instance with that ID keeps the list sorted.
func lowestFreeID[T any](sorted []T, id func(T) uint32) uint32 {
	for i, x := range sorted {
		if id(x) != uint32(i) {
			return uint32(i)
		}
	}
	return uint32(len(sorted))
}

// partitionLocked is what a new GPU instance of profile p is checked
// against.
func (g *simGPU) partitionLocked(p nvml.GpuInstanceProfileInfo) partition[nvml.GpuInstancePlacement] {
	taken := make([]slot, len(g.mig.gis))
	for i, gi := range g.mig.gis {
		taken[i] = giSlot(gi.profile, gi.placement)
	}
	return partition[nvml.GpuInstancePlacement]{
		taken:    taken,
		legal:    g.giPlacements(p.Id),
		slotAt:   func(pl nvml.GpuInstancePlacement) slot { return giSlot(p, pl) },
		limit:    p.InstanceCount,
		capacity: uint32(g.maxSlices),
	}
}

func (g *simGPU) createGpuInstance(profileID uint32, want *nvml.GpuInstancePlacement) (nvml.GpuInstance, nvml.Return) {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	if ret := g.readyLocked(); ret != nvml.SUCCESS {
		return nil, ret
	}
	profile, ret := g.giProfile(profileID)
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	placement, ret := g.partitionLocked(profile).place(want)
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	id := lowestFreeID(g.mig.gis, func(gi *gpuInstance) uint32 { return gi.id })
	gi := &gpuInstance{handle: handle{mu: &g.mig.mu}, gpu: g, id: id, profile: profile, placement: placement}
	completeMock(&gi.GpuInstance, false)
	g.mig.gis = slices.Insert(g.mig.gis, int(id), gi)
	return gi, nvml.SUCCESS
}

func (g *simGPU) gpuInstances(profileID uint32) ([]nvml.GpuInstance, nvml.Return) {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	if ret := g.readyLocked(); ret != nvml.SUCCESS {
		return nil, ret
	}
	if _, ret := g.giProfile(profileID); ret != nvml.SUCCESS {
		return nil, ret
	}
	out := []nvml.GpuInstance{}
	for _, gi := range g.mig.gis {
		if gi.profile.Id == profileID {
			out = append(out, gi)
		}
	}
	return out, nvml.SUCCESS
}

func (g *simGPU) gpuInstanceByID(id int) (nvml.GpuInstance, nvml.Return) {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	if ret := g.readyLocked(); ret != nvml.SUCCESS {
		return nil, ret
	}
	if gi := g.findGILocked(id); gi != nil {
		return gi, nvml.SUCCESS
	}
	if id < 0 {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return nil, nvml.ERROR_NOT_FOUND
}

func (g *simGPU) findGILocked(id int) *gpuInstance {
	for _, gi := range g.mig.gis {
		if int(gi.id) == id {
			return gi
		}
	}
	return nil
}

// gpuInstanceCapacity counts how many more instances of a profile fit,
// placing them first-fit one after the other.
func (g *simGPU) gpuInstanceCapacity(profileID uint32) (int, nvml.Return) {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	if ret := g.readyLocked(); ret != nvml.SUCCESS {
		return 0, ret
	}
	profile, ret := g.giProfile(profileID)
	if ret != nvml.SUCCESS {
		return 0, ret
	}
	return g.partitionLocked(profile).remaining(), nvml.SUCCESS
}

// migDevicesLocked lists the MIG devices in NVML index order: by GPU
// instance ID, then compute instance ID.
func (g *simGPU) migDevicesLocked() []*migDevice {
	var out []*migDevice
	for _, gi := range g.mig.gis {
		for _, ci := range gi.cis {
			out = append(out, ci.mig)
		}
	}
	return out
}

func (g *simGPU) migDeviceByIndex(index int) (nvml.Device, nvml.Return) {
	if g.maxSlices == 0 {
		return nil, nvml.ERROR_NOT_SUPPORTED
	}
	if index < 0 || index >= g.maxSlices {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	devs := g.migDevicesLocked()
	if index >= len(devs) {
		return nil, nvml.ERROR_NOT_FOUND
	}
	return devs[index], nvml.SUCCESS
}

// migDeviceByUUID finds a live MIG device of the GPU.
func (g *simGPU) migDeviceByUUID(uuid string) (*migDevice, bool) {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	for _, m := range g.migDevicesLocked() {
		if m.uuid == uuid {
			return m, true
		}
	}
	return nil, false
}

// gpuInstance is a simulated GPU instance. Methods nobody simulates (the
// vGPU ones) come from the completed go-nvml mock and answer
// ERROR_NOT_SUPPORTED.
type gpuInstance struct {
	mock.GpuInstance
	handle
	gpu       *simGPU
	id        uint32
	profile   nvml.GpuInstanceProfileInfo
	placement nvml.GpuInstancePlacement
	cis       []*computeInstance // sorted by ID; guarded by the MIG lock
}

var _ nvml.GpuInstance = (*gpuInstance)(nil)

// handle is the validity of a GPU or compute instance handle, which every
// call on one checks under its GPU's MIG lock.
type handle struct {
	mu        *sync.Mutex // the GPU's MIG lock
	destroyed bool        // guarded by mu
}

// lock takes the GPU's MIG lock and reports whether the handle is still
// valid; the caller unlocks whatever the answer.
func (h *handle) lock() bool {
	h.mu.Lock()
	return !h.destroyed
}

func (h *handle) unlock() { h.mu.Unlock() }

func (gi *gpuInstance) GetInfo() (nvml.GpuInstanceInfo, nvml.Return) {
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nvml.GpuInstanceInfo{}, staleHandle
	}
	return nvml.GpuInstanceInfo{
		Device:    gi.gpu.dev,
		Id:        gi.id,
		ProfileId: gi.profile.Id,
		Placement: gi.placement,
	}, nvml.SUCCESS
}

func (gi *gpuInstance) Destroy() nvml.Return {
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return staleHandle
	}
	if len(gi.cis) > 0 {
		return nvml.ERROR_IN_USE
	}
	gi.destroyed = true
	g := gi.gpu
	g.mig.gis = slices.DeleteFunc(g.mig.gis, func(x *gpuInstance) bool { return x == gi })
	return nvml.SUCCESS
}

// ciProfile looks a compute instance profile of this GPU instance up.
func (gi *gpuInstance) ciProfile(id uint32) (nvml.ComputeInstanceProfileInfo, nvml.Return) {
	if id >= nvml.COMPUTE_INSTANCE_PROFILE_COUNT {
		return nvml.ComputeInstanceProfileInfo{}, nvml.ERROR_INVALID_ARGUMENT
	}
	p, ok := gi.gpu.dev.Config.MIGProfiles.ComputeInstanceProfiles[int(gi.profile.Id)][int(id)]
	if !ok {
		return nvml.ComputeInstanceProfileInfo{}, nvml.ERROR_NOT_SUPPORTED
	}
	return p, nvml.SUCCESS
}

// ciPlacements returns where a compute instance of profile p may sit in
// the GPU instance's compute slices. The mock lists them for some models
// and leaves the list empty for others (A100); there, a CI of s slices is
// placed at multiples of s, which is how the hardware aligns them.
func (gi *gpuInstance) ciPlacements(p nvml.ComputeInstanceProfileInfo) []nvml.ComputeInstancePlacement {
	table := gi.gpu.dev.Config.MIGProfiles.ComputeInstancePlacements[int(gi.profile.Id)][int(p.Id)]
	if len(table) > 0 {
		return slices.Clone(table)
	}
	out := []nvml.ComputeInstancePlacement{}
	if p.SliceCount == 0 {
		return out
	}
	for start := uint32(0); start+p.SliceCount <= gi.profile.SliceCount; start += p.SliceCount {
		out = append(out, nvml.ComputeInstancePlacement{Start: start, Size: p.SliceCount})
	}
	return out
}

// partitionLocked is what a new compute instance of profile p is checked
// against.
func (gi *gpuInstance) partitionLocked(p nvml.ComputeInstanceProfileInfo) partition[nvml.ComputeInstancePlacement] {
	taken := make([]slot, len(gi.cis))
	for i, ci := range gi.cis {
		taken[i] = ciSlot(ci.profile, ci.placement)
	}
	return partition[nvml.ComputeInstancePlacement]{
		taken:    taken,
		legal:    gi.ciPlacements(p),
		slotAt:   func(pl nvml.ComputeInstancePlacement) slot { return ciSlot(p, pl) },
		limit:    p.InstanceCount,
		capacity: gi.profile.SliceCount,
	}
}

func (gi *gpuInstance) GetComputeInstanceProfileInfo(profileID, engineProfileID int) (nvml.ComputeInstanceProfileInfo, nvml.Return) {
	if profileID < 0 || engineProfileID < 0 {
		return nvml.ComputeInstanceProfileInfo{}, nvml.ERROR_INVALID_ARGUMENT
	}
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nvml.ComputeInstanceProfileInfo{}, staleHandle
	}
	p, ret := gi.ciProfile(uint32(profileID))
	if ret != nvml.SUCCESS {
		return p, ret
	}
	// Only shared engines exist on the simulated (and current real) GPUs.
	if engineProfileID != nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED {
		return nvml.ComputeInstanceProfileInfo{}, nvml.ERROR_NOT_SUPPORTED
	}
	return p, nvml.SUCCESS
}

func (gi *gpuInstance) GetComputeInstancePossiblePlacements(info *nvml.ComputeInstanceProfileInfo) ([]nvml.ComputeInstancePlacement, nvml.Return) {
	if info == nil {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nil, staleHandle
	}
	p, ret := gi.ciProfile(info.Id)
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	return gi.ciPlacements(p), nvml.SUCCESS
}

func (gi *gpuInstance) CreateComputeInstance(info *nvml.ComputeInstanceProfileInfo) (nvml.ComputeInstance, nvml.Return) {
	if info == nil {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return gi.createComputeInstance(info.Id, nil)
}

func (gi *gpuInstance) CreateComputeInstanceWithPlacement(info *nvml.ComputeInstanceProfileInfo, pl *nvml.ComputeInstancePlacement) (nvml.ComputeInstance, nvml.Return) {
	if info == nil || pl == nil {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return gi.createComputeInstance(info.Id, pl)
}

func (gi *gpuInstance) createComputeInstance(profileID uint32, want *nvml.ComputeInstancePlacement) (nvml.ComputeInstance, nvml.Return) {
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nil, staleHandle
	}
	p, ret := gi.ciProfile(profileID)
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	placement, ret := gi.partitionLocked(p).place(want)
	if ret != nvml.SUCCESS {
		return nil, ret
	}
	id := lowestFreeID(gi.cis, func(ci *computeInstance) uint32 { return ci.id })
	ci := &computeInstance{handle: handle{mu: gi.mu}, gi: gi, id: id, profile: p, placement: placement}
	ci.mig = newMIGDevice(ci)
	gi.cis = slices.Insert(gi.cis, int(id), ci)
	return ci, nvml.SUCCESS
}

func (gi *gpuInstance) GetComputeInstances(info *nvml.ComputeInstanceProfileInfo) ([]nvml.ComputeInstance, nvml.Return) {
	if info == nil {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nil, staleHandle
	}
	if _, ret := gi.ciProfile(info.Id); ret != nvml.SUCCESS {
		return nil, ret
	}
	out := []nvml.ComputeInstance{}
	for _, ci := range gi.cis {
		if ci.profile.Id == info.Id {
			out = append(out, ci)
		}
	}
	return out, nvml.SUCCESS
}

func (gi *gpuInstance) GetComputeInstanceById(id int) (nvml.ComputeInstance, nvml.Return) {
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return nil, staleHandle
	}
	for _, ci := range gi.cis {
		if int(ci.id) == id {
			return ci, nvml.SUCCESS
		}
	}
	if id < 0 {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return nil, nvml.ERROR_NOT_FOUND
}

func (gi *gpuInstance) GetComputeInstanceRemainingCapacity(info *nvml.ComputeInstanceProfileInfo) (int, nvml.Return) {
	if info == nil {
		return 0, nvml.ERROR_INVALID_ARGUMENT
	}
	live := gi.lock()
	defer gi.unlock()
	if !live {
		return 0, staleHandle
	}
	p, ret := gi.ciProfile(info.Id)
	if ret != nvml.SUCCESS {
		return 0, ret
	}
	return gi.partitionLocked(p).remaining(), nvml.SUCCESS
}

// computeInstance is a simulated compute instance; it is also the MIG
// device the GPU exposes for it.
type computeInstance struct {
	handle
	gi        *gpuInstance
	id        uint32
	profile   nvml.ComputeInstanceProfileInfo
	placement nvml.ComputeInstancePlacement
	mig       *migDevice
}

var _ nvml.ComputeInstance = (*computeInstance)(nil)

func (ci *computeInstance) GetInfo() (nvml.ComputeInstanceInfo, nvml.Return) {
	live := ci.lock()
	defer ci.unlock()
	if !live {
		return nvml.ComputeInstanceInfo{}, staleHandle
	}
	return nvml.ComputeInstanceInfo{
		Device:      ci.gi.gpu.dev,
		GpuInstance: ci.gi,
		Id:          ci.id,
		ProfileId:   ci.profile.Id,
		Placement:   ci.placement,
	}, nvml.SUCCESS
}

func (ci *computeInstance) Destroy() nvml.Return {
	live := ci.lock()
	defer ci.unlock()
	if !live {
		return staleHandle
	}
	ci.destroyed = true
	ci.gi.cis = slices.DeleteFunc(ci.gi.cis, func(x *computeInstance) bool { return x == ci })
	return nvml.SUCCESS
}

// migDevice is the NVML device handle of a compute instance. It answers
// the queries NVML supports on MIG handles from the instance it stands
// for; everything else answers ERROR_NOT_SUPPORTED (the completed mock),
// as real MIG handles do for most whole-GPU queries (minor number, PCI
// info, utilisation, events...).
type migDevice struct {
	mock.Device
	ci   *computeInstance
	uuid string
	name string
}

var _ nvml.Device = (*migDevice)(nil)

func newMIGDevice(ci *computeInstance) *migDevice {
	g := ci.gi.gpu
	m := &migDevice{
		ci:   ci,
		uuid: migUUID(g.dev.UUID, ci.gi.id, ci.id),
		name: g.dev.Config.Name + " MIG " + migProfileName(ci.gi.profile, ci.profile, g.dev.Config.MemoryMB),
	}
	completeMock(&m.Device, false)
	return m
}

// live takes the GPU's MIG lock, reports whether the compute instance
// still exists, and releases the lock.
func (m *migDevice) live() bool {
	live := m.ci.lock()
	m.ci.unlock()
	return live
}

func (m *migDevice) GetUUID() (string, nvml.Return) {
	if !m.live() {
		return "", staleHandle
	}
	return m.uuid, nvml.SUCCESS
}

// GetName returns the MIG device name NVML gives, the parent's product name
// followed by the profile: "NVIDIA H100 80GB HBM3 MIG 1g.10gb".
func (m *migDevice) GetName() (string, nvml.Return) {
	if !m.live() {
		return "", staleHandle
	}
	return m.name, nvml.SUCCESS
}

func (m *migDevice) IsMigDeviceHandle() (bool, nvml.Return) {
	if !m.live() {
		return false, staleHandle
	}
	return true, nvml.SUCCESS
}

func (m *migDevice) GetGpuInstanceId() (int, nvml.Return) {
	if !m.live() {
		return 0, staleHandle
	}
	return int(m.ci.gi.id), nvml.SUCCESS
}

func (m *migDevice) GetComputeInstanceId() (int, nvml.Return) {
	if !m.live() {
		return 0, staleHandle
	}
	return int(m.ci.id), nvml.SUCCESS
}

func (m *migDevice) GetDeviceHandleFromMigDeviceHandle() (nvml.Device, nvml.Return) {
	if !m.live() {
		return nil, staleHandle
	}
	return m.ci.gi.gpu.dev, nvml.SUCCESS
}

// memoryBytes is the GPU instance's memory, which all its compute
// instances share.
func (m *migDevice) memoryBytes() uint64 {
	return m.ci.gi.profile.MemorySizeMB << 20
}

func (m *migDevice) GetMemoryInfo() (nvml.Memory, nvml.Return) {
	if !m.live() {
		return nvml.Memory{}, staleHandle
	}
	total := m.memoryBytes()
	return nvml.Memory{Total: total, Free: total}, nvml.SUCCESS
}

func (m *migDevice) GetMemoryInfo_v2() (nvml.Memory_v2, nvml.Return) {
	if !m.live() {
		return nvml.Memory_v2{}, staleHandle
	}
	total := m.memoryBytes()
	mem := nvml.Memory_v2{Total: total, Free: total}
	mem.Version = nvml.STRUCT_VERSION(mem, 2)
	return mem, nvml.SUCCESS
}

// GetAttributes is the MIG-only query tools use to name MIG devices.
func (m *migDevice) GetAttributes() (nvml.DeviceAttributes, nvml.Return) {
	if !m.live() {
		return nvml.DeviceAttributes{}, staleHandle
	}
	ci, gi := m.ci.profile, m.ci.gi.profile
	return nvml.DeviceAttributes{
		MultiprocessorCount:       ci.MultiprocessorCount,
		SharedCopyEngineCount:     ci.SharedCopyEngineCount,
		SharedDecoderCount:        ci.SharedDecoderCount,
		SharedEncoderCount:        ci.SharedEncoderCount,
		SharedJpegCount:           ci.SharedJpegCount,
		SharedOfaCount:            ci.SharedOfaCount,
		GpuInstanceSliceCount:     gi.SliceCount,
		ComputeInstanceSliceCount: ci.SliceCount,
		MemorySizeMB:              gi.MemorySizeMB,
	}, nvml.SUCCESS
}

// migProfileName is NVIDIA's name of a MIG device: the GPU instance's
// profile name, prefixed with "<c>c." when the compute instance uses only
// part of it.
func migProfileName(gi nvml.GpuInstanceProfileInfo, ci nvml.ComputeInstanceProfileInfo, totalMB uint64) string {
	name := nvidia.MIGProfileName(gi, totalMB)
	if ci.SliceCount < gi.SliceCount {
		name = fmt.Sprintf("%dc.%s", ci.SliceCount, name)
	}
	return name
}

// migInstanceByID finds a live compute instance for an injected event.
func (g *simGPU) migInstanceByID(giID, ciID int) error {
	g.mig.mu.Lock()
	defer g.mig.mu.Unlock()
	if g.readyLocked() != nvml.SUCCESS {
		return fmt.Errorf("GPU %d is not in MIG mode", g.index)
	}
	gi := g.findGILocked(giID)
	if gi == nil {
		return fmt.Errorf("GPU %d has no GPU instance %d", g.index, giID)
	}
	for _, ci := range gi.cis {
		if int(ci.id) == ciID {
			return nil
		}
	}
	return fmt.Errorf("GPU instance %d of GPU %d has no compute instance %d", giID, g.index, ciID)
}
