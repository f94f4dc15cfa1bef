package simhw

import (
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Profile IDs used in the tests, short enough for tables.
const (
	p1g   = nvml.GPU_INSTANCE_PROFILE_1_SLICE
	p1gme = nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1
	p2g   = nvml.GPU_INSTANCE_PROFILE_2_SLICE
	p3g   = nvml.GPU_INSTANCE_PROFILE_3_SLICE
	p4g   = nvml.GPU_INSTANCE_PROFILE_4_SLICE
	p7g   = nvml.GPU_INSTANCE_PROFILE_7_SLICE
)

// migNVML returns a simulated machine with MIG mode enabled on GPU 0.
func migNVML(t *testing.T, machine, seed string) (*NVML, nvml.Device) {
	t.Helper()
	lib := mustNVML(t, mustLoad(t, machine), seed)
	if err := lib.SetMIGMode(0, true); err != nil {
		t.Fatalf("SetMIGMode(0, true) = %v", err)
	}
	return lib, device(t, lib, 0)
}

func giProfile(t *testing.T, d nvml.Device, id int) nvml.GpuInstanceProfileInfo {
	t.Helper()
	info, ret := d.GetGpuInstanceProfileInfo(id)
	if ret != nvml.SUCCESS {
		t.Fatalf("GetGpuInstanceProfileInfo(%d) = %v", id, ret)
	}
	return info
}

// placementAt returns the profile's placement starting at start, or, when
// the profile has none there, one of its usual size at start (an illegal
// placement).
func placementAt(t *testing.T, d nvml.Device, info nvml.GpuInstanceProfileInfo, start uint32) nvml.GpuInstancePlacement {
	t.Helper()
	legal, ret := d.GetGpuInstancePossiblePlacements(&info)
	if ret != nvml.SUCCESS || len(legal) == 0 {
		t.Fatalf("GetGpuInstancePossiblePlacements(%d) = %v, %v", info.Id, legal, ret)
	}
	for _, p := range legal {
		if p.Start == start {
			return p
		}
	}
	return nvml.GpuInstancePlacement{Start: start, Size: legal[0].Size}
}

// createGI creates a GPU instance of profile id at start, or wherever the
// simulation chooses when start is auto.
func createGI(t *testing.T, d nvml.Device, id int, start int) (nvml.GpuInstance, nvml.Return) {
	t.Helper()
	info := giProfile(t, d, id)
	if start == auto {
		return d.CreateGpuInstance(&info)
	}
	p := placementAt(t, d, info, uint32(start))
	return d.CreateGpuInstanceWithPlacement(&info, &p)
}

const auto = -1

func mustGI(t *testing.T, d nvml.Device, id, start int) nvml.GpuInstance {
	t.Helper()
	gi, ret := createGI(t, d, id, start)
	if ret != nvml.SUCCESS {
		t.Fatalf("create GPU instance (profile %d at %d) = %v", id, start, ret)
	}
	return gi
}

// fullCI creates the compute instance spanning the whole GPU instance, as
// the DRA driver does.
func fullCI(t *testing.T, gi nvml.GpuInstance) nvml.ComputeInstance {
	t.Helper()
	info, ret := gi.GetInfo()
	if ret != nvml.SUCCESS {
		t.Fatalf("GpuInstance.GetInfo() = %v", ret)
	}
	giInfo := giProfile(t, info.Device, int(info.ProfileId))
	for id := 0; id < nvml.COMPUTE_INSTANCE_PROFILE_COUNT; id++ {
		p, ret := gi.GetComputeInstanceProfileInfo(id, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if ret == nvml.SUCCESS && p.SliceCount == giInfo.SliceCount {
			ci, ret := gi.CreateComputeInstance(&p)
			if ret != nvml.SUCCESS {
				t.Fatalf("CreateComputeInstance(%d slices) = %v", p.SliceCount, ret)
			}
			return ci
		}
	}
	t.Fatalf("no compute instance profile spans %d slices", giInfo.SliceCount)
	return nil
}

func TestMIGModeGatesMIGCalls(t *testing.T) {
	for _, machine := range []string{"dgxa100", "dgxh100"} {
		t.Run(machine, func(t *testing.T) {
			lib := mustNVML(t, mustLoad(t, machine), "")
			d := device(t, lib, 0)
			if cur, pending, ret := d.GetMigMode(); ret != nvml.SUCCESS || cur != nvml.DEVICE_MIG_DISABLE || pending != nvml.DEVICE_MIG_DISABLE {
				t.Fatalf("GetMigMode() = %d/%d, %v; want disabled", cur, pending, ret)
			}
			info := giProfile(t, d, p1g) // profile information needs no MIG mode
			p := placementAt(t, d, info, 0)
			if _, ret := d.CreateGpuInstance(&info); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("CreateGpuInstance with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if _, ret := d.CreateGpuInstanceWithPlacement(&info, &p); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("CreateGpuInstanceWithPlacement with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if _, ret := lib.DeviceCreateGpuInstance(d, &info); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("DeviceCreateGpuInstance with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if _, ret := d.GetGpuInstances(&info); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("GetGpuInstances with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if _, ret := d.GetGpuInstanceById(0); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("GetGpuInstanceById with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if _, ret := d.GetGpuInstanceRemainingCapacity(&info); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("GetGpuInstanceRemainingCapacity with MIG off = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if n, ret := d.GetMaxMigDeviceCount(); ret != nvml.SUCCESS || n != 0 {
				t.Errorf("GetMaxMigDeviceCount with MIG off = %d, %v; want 0", n, ret)
			}
			if _, ret := d.GetMigDeviceHandleByIndex(0); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetMigDeviceHandleByIndex(0) with MIG off = %v, want ERROR_NOT_FOUND", ret)
			}

			// The device call enables it; go-nvml returns (activation, ret).
			if act, ret := d.SetMigMode(nvml.DEVICE_MIG_ENABLE); act != nvml.SUCCESS || ret != nvml.SUCCESS {
				t.Fatalf("SetMigMode(enable) = %v, %v", act, ret)
			}
			if cur, pending, _ := d.GetMigMode(); cur != nvml.DEVICE_MIG_ENABLE || pending != nvml.DEVICE_MIG_ENABLE {
				t.Errorf("GetMigMode() after enabling = %d/%d", cur, pending)
			}
			// Only GPU 0 changed.
			if cur, _, _ := device(t, lib, 1).GetMigMode(); cur != nvml.DEVICE_MIG_DISABLE {
				t.Errorf("GPU 1 MIG mode = %d after enabling GPU 0", cur)
			}
			if n, ret := d.GetMaxMigDeviceCount(); ret != nvml.SUCCESS || n != 7 {
				t.Errorf("GetMaxMigDeviceCount = %d, %v; want 7", n, ret)
			}
			if _, ret := d.SetMigMode(7); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("SetMigMode(7) = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			gi := mustGI(t, d, p1g, 0)

			// MIG mode cannot be left while instances exist.
			if act, ret := d.SetMigMode(nvml.DEVICE_MIG_DISABLE); act != nvml.ERROR_IN_USE || ret != nvml.ERROR_IN_USE {
				t.Errorf("SetMigMode(disable) with an instance = %v, %v; want ERROR_IN_USE", act, ret)
			}
			if err := lib.SetMIGMode(0, false); !errors.Is(err, nvml.ERROR_IN_USE) {
				t.Errorf("SetMIGMode(0, false) with an instance = %v, want ERROR_IN_USE", err)
			}
			if ret := gi.Destroy(); ret != nvml.SUCCESS {
				t.Fatalf("Destroy() = %v", ret)
			}
			if err := lib.SetMIGMode(0, false); err != nil {
				t.Errorf("SetMIGMode(0, false) = %v", err)
			}
			if _, ret := d.CreateGpuInstance(&info); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("CreateGpuInstance after disabling = %v, want ERROR_NOT_SUPPORTED", ret)
			}
		})
	}
}

func TestSetMIGModeRejectsBadInput(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	for _, i := range []int{-1, 8} {
		if err := lib.SetMIGMode(i, true); err == nil {
			t.Errorf("SetMIGMode(%d, true) = nil, want an error", i)
		}
	}
	// A GPU without MIG profiles refuses, generically.
	g := lib.gpus[0]
	saved := g.maxSlices
	g.maxSlices = 0
	defer func() { g.maxSlices = saved }()
	if err := lib.SetMIGMode(0, true); !errors.Is(err, nvml.ERROR_NOT_SUPPORTED) {
		t.Errorf("SetMIGMode on a GPU without MIG = %v, want ERROR_NOT_SUPPORTED", err)
	}
	if _, _, ret := g.dev.GetMigMode(); ret != nvml.ERROR_NOT_SUPPORTED {
		t.Errorf("GetMigMode on a GPU without MIG = %v, want ERROR_NOT_SUPPORTED", ret)
	}
}

// TestMIGPlacementRules replays creation sequences and checks each answer.
func TestMIGPlacementRules(t *testing.T) {
	type step struct {
		profile, start int
		want           nvml.Return
	}
	ok := nvml.SUCCESS
	full := nvml.ERROR_INSUFFICIENT_RESOURCES
	illegal := nvml.ERROR_INVALID_ARGUMENT
	tests := []struct {
		name  string
		steps []step
	}{
		{"seven 1g fill the GPU", []step{
			{p1g, 0, ok}, {p1g, 1, ok}, {p1g, 2, ok}, {p1g, 3, ok}, {p1g, 4, ok}, {p1g, 5, ok}, {p1g, 6, ok},
			{p1g, auto, full}, {p1g, 7, illegal}, {p1g, 3, full},
		}},
		{"1g chosen first-fit", []step{
			{p1g, 0, ok}, {p1g, 2, ok}, {p1g, auto, ok}, {p1g, 1, full},
		}},
		{"whole GPU blocked by any 1g", []step{{p1g, 5, ok}, {p7g, 0, full}, {p7g, auto, full}}},
		{"whole GPU blocks any 1g", []step{{p7g, 0, ok}, {p1g, auto, full}, {p1g, 6, full}}},
		{"4g and 3g side by side", []step{{p4g, 0, ok}, {p3g, 4, ok}, {p1g, auto, full}, {p2g, auto, full}}},
		{"2g overlapping a 1g", []step{{p1g, 1, ok}, {p2g, 0, full}, {p2g, 2, ok}}},
		{"illegal placements", []step{{p2g, 1, illegal}, {p3g, 2, illegal}, {p4g, 4, illegal}, {p7g, 1, illegal}}},
		{"mixed fill", []step{{p2g, 0, ok}, {p2g, 2, ok}, {p2g, 4, ok}, {p1g, 6, ok}, {p1g, auto, full}}},
		{"one 1g+me per GPU", []step{{p1gme, 0, ok}, {p1gme, 1, full}, {p1g, 1, ok}}},
	}
	for _, machine := range []string{"dgxa100", "dgxh100"} {
		for _, tt := range tests {
			t.Run(machine+"/"+tt.name, func(t *testing.T) {
				_, d := migNVML(t, machine, "")
				for i, s := range tt.steps {
					gi, ret := createGI(t, d, s.profile, s.start)
					if ret != s.want {
						t.Fatalf("step %d: create profile %d at %d = %v, want %v", i, s.profile, s.start, ret, s.want)
					}
					if (gi == nil) != (ret != nvml.SUCCESS) {
						t.Fatalf("step %d: handle %v with %v", i, gi, ret)
					}
				}
			})
		}
	}
}

func TestMIGComputeSliceLimit(t *testing.T) {
	// The go-nvml tables never let compute slices run out before memory
	// slices do, so the rule is checked on its own: seven compute slices
	// used in four non-overlapping memory ranges leave no room.
	const computeSlices = 7
	existing := []slot{
		{profile: p2g, slices: 2, start: 0, size: 1},
		{profile: p2g, slices: 2, start: 1, size: 1},
		{profile: p3g, slices: 3, start: 2, size: 1},
	}
	p := nvml.GpuInstanceProfileInfo{Id: p1g, SliceCount: 1, InstanceCount: 7}
	one1g := giSlot(p, nvml.GpuInstancePlacement{Start: 3, Size: 1})
	if !one1g.fits(existing[:2], p.InstanceCount, computeSlices) {
		t.Error("1g beside 4 used compute slices does not fit")
	}
	if one1g.fits(existing, p.InstanceCount, computeSlices) {
		t.Error("1g fits although all 7 compute slices are used")
	}

	// Likewise for compute instances inside a 2-slice GPU instance.
	gi := nvml.GpuInstanceProfileInfo{Id: p2g, SliceCount: 2}
	one := nvml.ComputeInstanceProfileInfo{Id: nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, SliceCount: 1, InstanceCount: 4}
	cis := []slot{ciSlot(one, nvml.ComputeInstancePlacement{Start: 0, Size: 1})}
	if !ciSlot(one, nvml.ComputeInstancePlacement{Start: 1, Size: 1}).fits(cis, one.InstanceCount, gi.SliceCount) {
		t.Error("second 1-slice CI in a 2g does not fit")
	}
	cis = append(cis, ciSlot(one, nvml.ComputeInstancePlacement{Start: 1, Size: 1}))
	if ciSlot(one, nvml.ComputeInstancePlacement{Start: 2, Size: 1}).fits(cis, one.InstanceCount, gi.SliceCount) {
		t.Error("third 1-slice CI fits in a 2g")
	}
}

func TestMIGInstancesAndIDs(t *testing.T) {
	for _, machine := range []string{"dgxa100", "dgxh100"} {
		t.Run(machine, func(t *testing.T) {
			lib, d := migNVML(t, machine, "")
			a, b, c := mustGI(t, d, p1g, 0), mustGI(t, d, p1g, 1), mustGI(t, d, p2g, 2)
			for i, gi := range []nvml.GpuInstance{a, b, c} {
				info, ret := gi.GetInfo()
				if ret != nvml.SUCCESS || info.Id != uint32(i) || info.Device != d {
					t.Errorf("instance %d GetInfo() = %+v, %v", i, info, ret)
				}
			}
			if info, _ := c.GetInfo(); info.Placement.Start != 2 || info.Placement.Size != 2 || info.ProfileId != p2g {
				t.Errorf("2g GetInfo() = %+v, want profile %d at {2 2}", info, p2g)
			}
			one := giProfile(t, d, p1g)
			if gis, ret := d.GetGpuInstances(&one); ret != nvml.SUCCESS || !slices.Equal(gis, []nvml.GpuInstance{a, b}) {
				t.Errorf("GetGpuInstances(1g) = %v, %v; want the two 1g in ID order", gis, ret)
			}
			seven := giProfile(t, d, p7g)
			if gis, ret := lib.DeviceGetGpuInstances(d, &seven); ret != nvml.SUCCESS || gis == nil || len(gis) != 0 {
				t.Errorf("DeviceGetGpuInstances(7g) = %v, %v; want an empty list", gis, ret)
			}
			if gi, ret := d.GetGpuInstanceById(2); ret != nvml.SUCCESS || gi != c {
				t.Errorf("GetGpuInstanceById(2) = %v, %v", gi, ret)
			}
			if _, ret := d.GetGpuInstanceById(9); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetGpuInstanceById(9) = %v, want ERROR_NOT_FOUND", ret)
			}

			// The lowest free ID is reused.
			if ret := b.Destroy(); ret != nvml.SUCCESS {
				t.Fatalf("Destroy() = %v", ret)
			}
			if _, ret := d.GetGpuInstanceById(1); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetGpuInstanceById(destroyed) = %v, want ERROR_NOT_FOUND", ret)
			}
			if _, ret := b.GetInfo(); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("destroyed GetInfo() = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			if ret := b.Destroy(); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("second Destroy() = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			d2 := mustGI(t, d, p1g, 6)
			if info, _ := d2.GetInfo(); info.Id != 1 {
				t.Errorf("new instance ID = %d, want the freed 1", info.Id)
			}
		})
	}
}

func TestMIGRemainingCapacity(t *testing.T) {
	_, d := migNVML(t, "dgxa100", "")
	capacity := func(id int) int {
		t.Helper()
		info := giProfile(t, d, id)
		n, ret := d.GetGpuInstanceRemainingCapacity(&info)
		if ret != nvml.SUCCESS {
			t.Fatalf("GetGpuInstanceRemainingCapacity(%d) = %v", id, ret)
		}
		return n
	}
	want := map[int]int{p1g: 7, p2g: 3, p3g: 2, p4g: 1, p7g: 1, p1gme: 1}
	for id, n := range want {
		if got := capacity(id); got != n {
			t.Errorf("empty GPU: capacity of profile %d = %d, want %d", id, got, n)
		}
	}
	mustGI(t, d, p4g, 0)
	want = map[int]int{p1g: 3, p2g: 1, p3g: 1, p4g: 0, p7g: 0}
	for id, n := range want {
		if got := capacity(id); got != n {
			t.Errorf("after 4g@0: capacity of profile %d = %d, want %d", id, got, n)
		}
	}
}

func TestMIGComputeInstances(t *testing.T) {
	for _, machine := range []string{"dgxa100", "dgxh100"} {
		t.Run(machine, func(t *testing.T) {
			lib, d := migNVML(t, machine, "")
			gi := mustGI(t, d, p2g, 0)
			ci := fullCI(t, gi)
			info, ret := ci.GetInfo()
			if ret != nvml.SUCCESS || info.Id != 0 || info.Device != d || info.GpuInstance != gi || info.Placement != (nvml.ComputeInstancePlacement{Start: 0, Size: 2}) {
				t.Errorf("ComputeInstance.GetInfo() = %+v, %v", info, ret)
			}
			if got, ret := gi.GetComputeInstanceById(0); ret != nvml.SUCCESS || got != ci {
				t.Errorf("GetComputeInstanceById(0) = %v, %v", got, ret)
			}
			if _, ret := gi.GetComputeInstanceById(1); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetComputeInstanceById(1) = %v, want ERROR_NOT_FOUND", ret)
			}
			oneSlice, ret := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
			if ret != nvml.SUCCESS {
				t.Fatalf("GetComputeInstanceProfileInfo(1 slice) = %v", ret)
			}
			if _, ret := gi.CreateComputeInstance(&oneSlice); ret != nvml.ERROR_INSUFFICIENT_RESOURCES {
				t.Errorf("CI beyond the GI's slices = %v, want ERROR_INSUFFICIENT_RESOURCES", ret)
			}
			if n, ret := gi.GetComputeInstanceRemainingCapacity(&oneSlice); ret != nvml.SUCCESS || n != 0 {
				t.Errorf("GetComputeInstanceRemainingCapacity(1 slice) = %d, %v; want 0", n, ret)
			}
			if _, ret := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_7_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("7-slice CI profile in a 2g = %v, want ERROR_NOT_SUPPORTED", ret)
			}

			// A GPU instance with a compute instance is in use.
			if ret := gi.Destroy(); ret != nvml.ERROR_IN_USE {
				t.Errorf("GpuInstance.Destroy() with a CI = %v, want ERROR_IN_USE", ret)
			}
			if _, ret := createGI(t, d, p7g, 0); ret != nvml.ERROR_INSUFFICIENT_RESOURCES {
				t.Errorf("7g while the 2g exists = %v", ret)
			}
			if ret := lib.ComputeInstanceDestroy(ci); ret != nvml.SUCCESS {
				t.Fatalf("ComputeInstanceDestroy() = %v", ret)
			}
			if ret := ci.Destroy(); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("second ComputeInstance.Destroy() = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			if _, ret := ci.GetInfo(); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("destroyed ComputeInstance.GetInfo() = %v, want ERROR_INVALID_ARGUMENT", ret)
			}

			// Two 1-slice CIs share the 2g; a third does not fit.
			c0, ret0 := gi.CreateComputeInstance(&oneSlice)
			c1, ret1 := gi.CreateComputeInstance(&oneSlice)
			if ret0 != nvml.SUCCESS || ret1 != nvml.SUCCESS {
				t.Fatalf("two 1-slice CIs in a 2g = %v, %v", ret0, ret1)
			}
			if i0, _ := c0.GetInfo(); i0.Placement.Start != 0 {
				t.Errorf("first 1-slice CI at %d, want 0", i0.Placement.Start)
			}
			if i1, _ := c1.GetInfo(); i1.Placement.Start != 1 || i1.Id != 1 {
				t.Errorf("second 1-slice CI = %+v, want ID 1 at 1", i1)
			}
			if _, ret := gi.CreateComputeInstance(&oneSlice); ret != nvml.ERROR_INSUFFICIENT_RESOURCES {
				t.Errorf("third 1-slice CI in a 2g = %v, want ERROR_INSUFFICIENT_RESOURCES", ret)
			}
			if cis, ret := gi.GetComputeInstances(&oneSlice); ret != nvml.SUCCESS || len(cis) != 2 {
				t.Errorf("GetComputeInstances = %v, %v; want 2", cis, ret)
			}
			bad := nvml.ComputeInstancePlacement{Start: 1, Size: 2}
			twoSlice, _ := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_2_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
			if _, ret := gi.CreateComputeInstanceWithPlacement(&twoSlice, &bad); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("CI at an illegal placement = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			for _, c := range []nvml.ComputeInstance{c0, c1} {
				if ret := c.Destroy(); ret != nvml.SUCCESS {
					t.Fatalf("Destroy() = %v", ret)
				}
			}
			if ret := gi.Destroy(); ret != nvml.SUCCESS {
				t.Fatalf("GpuInstance.Destroy() without CIs = %v", ret)
			}
			if _, ret := gi.CreateComputeInstance(&oneSlice); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("CreateComputeInstance on a destroyed GI = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			// The slices are free again: the whole GPU fits.
			whole := mustGI(t, d, p7g, 0)
			fullCI(t, whole)
		})
	}
}

var migUUIDRE = regexp.MustCompile(`^MIG-[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// migUUIDs lists the UUIDs of a GPU's MIG devices in index order.
func migUUIDs(t *testing.T, d nvml.Device) []string {
	t.Helper()
	count, ret := d.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		t.Fatalf("GetMaxMigDeviceCount() = %v", ret)
	}
	var out []string
	for i := 0; i < count; i++ {
		m, ret := d.GetMigDeviceHandleByIndex(i)
		if ret == nvml.ERROR_NOT_FOUND {
			break
		}
		if ret != nvml.SUCCESS {
			t.Fatalf("GetMigDeviceHandleByIndex(%d) = %v", i, ret)
		}
		u, ret := m.GetUUID()
		if ret != nvml.SUCCESS {
			t.Fatalf("MIG GetUUID() = %v", ret)
		}
		out = append(out, u)
	}
	return out
}

func TestMIGDeviceHandles(t *testing.T) {
	tests := []struct {
		machine  string
		profile  int
		start    int
		wantName string
		wantMem  uint64 // MiB
	}{
		{"dgxa100", p1g, 3, "NVIDIA A100-SXM4-40GB MIG 1g.5gb", 4864},
		{"dgxa100", p7g, 0, "NVIDIA A100-SXM4-40GB MIG 7g.40gb", 40192},
		{"dgxa100", p3g, 4, "NVIDIA A100-SXM4-40GB MIG 3g.20gb", 19968},
		{"dgxh100", p1g, 0, "NVIDIA H100 80GB HBM3 MIG 1g.10gb", 10240},
		{"dgxh100", p1gme, 6, "NVIDIA H100 80GB HBM3 MIG 1g.10gb+me", 10240},
		{"dgxh100", p4g, 0, "NVIDIA H100 80GB HBM3 MIG 4g.40gb", 40960},
		{"dgxh200", p1g, 0, "NVIDIA H200 141GB HBM3e MIG 1g.18gb", 18432},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			lib, d := migNVML(t, tt.machine, "node-a")
			if _, ret := d.GetMigDeviceHandleByIndex(0); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetMigDeviceHandleByIndex(0) without instances = %v, want ERROR_NOT_FOUND", ret)
			}
			gi := mustGI(t, d, tt.profile, tt.start)
			ci := fullCI(t, gi)
			m, ret := d.GetMigDeviceHandleByIndex(0)
			if ret != nvml.SUCCESS {
				t.Fatalf("GetMigDeviceHandleByIndex(0) = %v", ret)
			}
			if m2, ret := lib.DeviceGetMigDeviceHandleByIndex(d, 0); ret != nvml.SUCCESS || m2 != m {
				t.Errorf("DeviceGetMigDeviceHandleByIndex(0) = %v, %v; want the same handle", m2, ret)
			}
			if _, ret := d.GetMigDeviceHandleByIndex(1); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("GetMigDeviceHandleByIndex(1) = %v, want ERROR_NOT_FOUND", ret)
			}
			if _, ret := d.GetMigDeviceHandleByIndex(7); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("GetMigDeviceHandleByIndex(7) = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			uuid, ret := m.GetUUID()
			if ret != nvml.SUCCESS || !migUUIDRE.MatchString(uuid) {
				t.Errorf("MIG GetUUID() = %q, %v", uuid, ret)
			}
			if ok, ret := m.IsMigDeviceHandle(); ret != nvml.SUCCESS || !ok {
				t.Errorf("IsMigDeviceHandle() = %v, %v", ok, ret)
			}
			giInfo, _ := gi.GetInfo()
			ciInfo, _ := ci.GetInfo()
			checkInt(t, "GetGpuInstanceId", 0, int(giInfo.Id))(m.GetGpuInstanceId())
			checkInt(t, "GetComputeInstanceId", 0, int(ciInfo.Id))(m.GetComputeInstanceId())
			checkInt(t, "DeviceGetGpuInstanceId", 0, int(giInfo.Id))(lib.DeviceGetGpuInstanceId(m))
			if p, ret := m.GetDeviceHandleFromMigDeviceHandle(); ret != nvml.SUCCESS || p != d {
				t.Errorf("GetDeviceHandleFromMigDeviceHandle() = %v, %v; want the parent", p, ret)
			}
			if mem, ret := m.GetMemoryInfo(); ret != nvml.SUCCESS || mem.Total != tt.wantMem<<20 || mem.Free != mem.Total {
				t.Errorf("MIG GetMemoryInfo() = %+v, %v; want %d MiB", mem, ret, tt.wantMem)
			}
			if name, ret := m.GetName(); ret != nvml.SUCCESS || name != tt.wantName {
				t.Errorf("MIG GetName() = %q, %v; want %q", name, ret, tt.wantName)
			}
			if attr, ret := m.GetAttributes(); ret != nvml.SUCCESS || attr.MemorySizeMB != tt.wantMem || attr.GpuInstanceSliceCount != attr.ComputeInstanceSliceCount || attr.MultiprocessorCount == 0 {
				t.Errorf("MIG GetAttributes() = %+v, %v", attr, ret)
			}
			if _, ret := m.GetMinorNumber(); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("MIG GetMinorNumber() = %v, want ERROR_NOT_SUPPORTED", ret)
			}
			if h, ret := lib.DeviceGetHandleByUUID(uuid); ret != nvml.SUCCESS || h != m {
				t.Errorf("DeviceGetHandleByUUID(MIG UUID) = %v, %v", h, ret)
			}

			// Destroying the compute instance removes the MIG device;
			// recreating the same instances brings back the same UUID.
			if ret := ci.Destroy(); ret != nvml.SUCCESS {
				t.Fatalf("Destroy() = %v", ret)
			}
			if got := migUUIDs(t, d); len(got) != 0 {
				t.Errorf("MIG devices after destroying the CI = %v", got)
			}
			if _, ret := m.GetUUID(); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("stale MIG handle GetUUID() = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			if _, ret := lib.DeviceGetHandleByUUID(uuid); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("DeviceGetHandleByUUID(gone MIG UUID) = %v, want ERROR_NOT_FOUND", ret)
			}
			if ret := gi.Destroy(); ret != nvml.SUCCESS {
				t.Fatalf("GpuInstance.Destroy() = %v", ret)
			}
			fullCI(t, mustGI(t, d, tt.profile, tt.start))
			if got := migUUIDs(t, d); !slices.Equal(got, []string{uuid}) {
				t.Errorf("MIG UUIDs after recreating = %v, want [%s]", got, uuid)
			}
		})
	}
}

func TestMIGUUIDsAreDeterministic(t *testing.T) {
	layout := func(seed string, gpu int) []string {
		lib := mustNVML(t, mustLoad(t, "dgxh100"), seed)
		if err := lib.SetMIGMode(gpu, true); err != nil {
			t.Fatal(err)
		}
		d := device(t, lib, gpu)
		fullCI(t, mustGI(t, d, p3g, 4))
		fullCI(t, mustGI(t, d, p1g, 0))
		fullCI(t, mustGI(t, d, p2g, 2))
		return migUUIDs(t, d)
	}
	a := layout("node-a", 0)
	if len(a) != 3 {
		t.Fatalf("MIG devices = %v, want 3", a)
	}
	if b := layout("node-a", 0); !slices.Equal(a, b) {
		t.Errorf("same seed, same layout: %v then %v", a, b)
	}
	for _, other := range [][]string{layout("node-b", 0), layout("node-a", 1)} {
		for _, u := range other {
			if slices.Contains(a, u) {
				t.Errorf("MIG UUID %s repeats on another GPU", u)
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range a {
		if seen[u] {
			t.Errorf("MIG UUID %s repeats within a GPU", u)
		}
		seen[u] = true
	}
}

func TestMIGDeviceOrder(t *testing.T) {
	_, d := migNVML(t, "dgxa100", "")
	gis := []nvml.GpuInstance{mustGI(t, d, p1g, 6), mustGI(t, d, p2g, 0), mustGI(t, d, p1g, 2)}
	// Compute instances created out of order still list by GI ID.
	for _, i := range []int{2, 0, 1} {
		fullCI(t, gis[i])
	}
	for i := 0; i < 3; i++ {
		m, ret := d.GetMigDeviceHandleByIndex(i)
		if ret != nvml.SUCCESS {
			t.Fatalf("GetMigDeviceHandleByIndex(%d) = %v", i, ret)
		}
		checkInt(t, "GetGpuInstanceId", i, i)(m.GetGpuInstanceId())
	}
}

// TestMIGConcurrentUse races creations on one GPU: however they
// interleave, no two instances may overlap and none may be lost.
func TestMIGConcurrentUse(t *testing.T) {
	lib, d := migNVML(t, "dgxa100", "")
	var wg sync.WaitGroup
	results := make(chan nvml.Return, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, _ := d.GetGpuInstanceProfileInfo(p1g)
			gi, ret := d.CreateGpuInstance(&info)
			results <- ret
			if ret == nvml.SUCCESS {
				ciInfo, _ := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
				if _, ret := gi.CreateComputeInstance(&ciInfo); ret != nvml.SUCCESS {
					t.Errorf("CreateComputeInstance = %v", ret)
				}
			}
			_, _ = lib.DeviceGetHandleByUUID("MIG-00000000-0000-8000-8000-000000000000")
		}()
	}
	wg.Wait()
	close(results)
	created := 0
	for ret := range results {
		switch ret {
		case nvml.SUCCESS:
			created++
		case nvml.ERROR_INSUFFICIENT_RESOURCES:
		default:
			t.Errorf("concurrent CreateGpuInstance = %v", ret)
		}
	}
	if created != 7 {
		t.Errorf("%d concurrent 1g creations succeeded, want 7", created)
	}
	if got := migUUIDs(t, d); len(got) != 7 {
		t.Errorf("%d MIG devices, want 7", len(got))
	}
}

func TestMIGProfileNames(t *testing.T) {
	gi := nvml.GpuInstanceProfileInfo{Id: p2g, SliceCount: 2, MemorySizeMB: 9856}
	if got := migProfileName(gi, nvml.ComputeInstanceProfileInfo{SliceCount: 1}, 40960); got != "1c.2g.10gb" {
		t.Errorf("partial CI name = %q, want 1c.2g.10gb", got)
	}
}
