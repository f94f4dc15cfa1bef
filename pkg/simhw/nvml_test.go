package simhw

import (
	"math/bits"
	"regexp"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func mustLoad(t *testing.T, name string) *Machine {
	t.Helper()
	m, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q) = %v", name, err)
	}
	return m
}

func mustNVML(t *testing.T, m *Machine, seed string) *NVML {
	t.Helper()
	n, err := m.NewSimulatedNVML(seed)
	if err != nil {
		t.Fatalf("NewSimulatedNVML(%q) = %v", seed, err)
	}
	return n
}

func device(t *testing.T, lib nvml.Interface, i int) nvml.Device {
	t.Helper()
	d, ret := lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		t.Fatalf("DeviceGetHandleByIndex(%d) = %v", i, ret)
	}
	return d
}

func uuids(t *testing.T, lib nvml.Interface) []string {
	t.Helper()
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		t.Fatalf("DeviceGetCount() = %v", ret)
	}
	var out []string
	for i := 0; i < count; i++ {
		u, ret := device(t, lib, i).GetUUID()
		if ret != nvml.SUCCESS {
			t.Fatalf("GetUUID() = %v", ret)
		}
		out = append(out, u)
	}
	return out
}

func cString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

func TestNVMLIdentity(t *testing.T) {
	uuidRE := regexp.MustCompile(`^GPU-[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m := mustLoad(t, name)
			lib, err := m.NewNVML("node-a")
			if err != nil {
				t.Fatal(err)
			}
			if ret := lib.Init(); ret != nvml.SUCCESS {
				t.Fatalf("Init() = %v", ret)
			}
			defer func() {
				if ret := lib.Shutdown(); ret != nvml.SUCCESS {
					t.Errorf("Shutdown() = %v", ret)
				}
			}()
			count, ret := lib.DeviceGetCount()
			if ret != nvml.SUCCESS || count != len(m.GPUs) {
				t.Fatalf("DeviceGetCount() = %d, %v; want %d", count, ret, len(m.GPUs))
			}
			a := uuids(t, lib)
			again, err := m.NewNVML("node-a")
			if err != nil {
				t.Fatal(err)
			}
			other, err := m.NewNVML("node-b")
			if err != nil {
				t.Fatal(err)
			}
			b, c := uuids(t, again), uuids(t, other)
			seen := map[string]bool{}
			for i := range a {
				if !uuidRE.MatchString(a[i]) {
					t.Errorf("UUID %q is not GPU-<uuid>", a[i])
				}
				if a[i] != b[i] {
					t.Errorf("GPU %d: same seed gave %q and %q", i, a[i], b[i])
				}
				if a[i] == c[i] {
					t.Errorf("GPU %d: seeds node-a and node-b both gave %q", i, a[i])
				}
				if seen[a[i]] {
					t.Errorf("UUID %q repeats within the machine", a[i])
				}
				seen[a[i]] = true

				d, ret := lib.DeviceGetHandleByUUID(a[i])
				if ret != nvml.SUCCESS || d != device(t, lib, i) {
					t.Errorf("DeviceGetHandleByUUID(%q) = %v, %v; want device %d", a[i], d, ret, i)
				}
			}
			if _, ret := lib.DeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000"); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("DeviceGetHandleByUUID(unknown) = %v, want ERROR_NOT_FOUND", ret)
			}
		})
	}
}

func TestNVMLDefaultSeedIsName(t *testing.T) {
	m := mustLoad(t, "workstation")
	a, b := mustNVML(t, m, ""), mustNVML(t, m, m.Name)
	if ua, ub := uuids(t, a), uuids(t, b); ua[0] != ub[0] {
		t.Errorf("empty seed gave %q, seed %q gave %q", ua[0], m.Name, ub[0])
	}
}

func TestNVMLDevices(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m := mustLoad(t, name)
			lib := mustNVML(t, m, name)
			for i, spec := range m.GPUs {
				d := device(t, lib, i)
				addr, _ := parseSysfsBusID(spec.PCIBusID)
				wantBusID := "00000000:" + strings.ToUpper(spec.PCIBusID[5:])
				pci, ret := d.GetPciInfo()
				if ret != nvml.SUCCESS {
					t.Fatalf("GetPciInfo() = %v", ret)
				}
				if got := cString(pci.BusId[:]); got != wantBusID {
					t.Errorf("gpu %d BusId = %q, want %q", i, got, wantBusID)
				}
				if got, want := cString(pci.BusIdLegacy[:]), strings.ToUpper(spec.PCIBusID); got != want {
					t.Errorf("gpu %d BusIdLegacy = %q, want %q", i, got, want)
				}
				if pci.Domain != addr.Domain || pci.Bus != addr.Bus || pci.Device != addr.Device {
					t.Errorf("gpu %d PciInfo numbers = %x:%x:%x, want %s", i, pci.Domain, pci.Bus, pci.Device, spec.PCIBusID)
				}
				if pci.PciDeviceId&0xffff != 0x10de {
					t.Errorf("gpu %d PciDeviceId = %#x, want NVIDIA vendor in the low half", i, pci.PciDeviceId)
				}
				for _, form := range []string{wantBusID, spec.PCIBusID, strings.ToLower(wantBusID), spec.PCIBusID[5:]} {
					if h, ret := lib.DeviceGetHandleByPciBusId(form); ret != nvml.SUCCESS || h != d {
						t.Errorf("DeviceGetHandleByPciBusId(%q) = %v, want gpu %d", form, ret, i)
					}
				}

				checkInt(t, "GetNumaNodeId", i, spec.NUMANode)(d.GetNumaNodeId())
				checkInt(t, "GetMinorNumber", i, i)(d.GetMinorNumber())
				checkInt(t, "GetIndex", i, i)(d.GetIndex())
				maxMW := uint32(spec.MaxPowerWatts * 1000)
				checkU32(t, "GetPowerUsage", i, uint32(spec.IdlePowerWatts*1000))(d.GetPowerUsage())
				checkU32(t, "GetPowerManagementLimit", i, maxMW)(d.GetPowerManagementLimit())
				checkU32(t, "GetPowerManagementDefaultLimit", i, maxMW)(d.GetPowerManagementDefaultLimit())
				checkU32(t, "GetEnforcedPowerLimit", i, maxMW)(d.GetEnforcedPowerLimit())
				if u, ret := d.GetUtilizationRates(); ret != nvml.SUCCESS || u.Gpu != 0 || u.Memory != 0 {
					t.Errorf("gpu %d GetUtilizationRates() = %+v, %v; want 0/0", i, u, ret)
				}

				cfg := nvmlConfig(m.modelOf(i))
				if got, ret := d.GetName(); ret != nvml.SUCCESS || got != cfg.Name || strings.HasPrefix(got, "Mock") {
					t.Errorf("gpu %d GetName() = %q, %v; want %q", i, got, ret, cfg.Name)
				}
				if got, ret := d.GetArchitecture(); ret != nvml.SUCCESS || got != cfg.Architecture {
					t.Errorf("gpu %d GetArchitecture() = %v, %v", i, got, ret)
				}
				if maj, minor, ret := d.GetCudaComputeCapability(); ret != nvml.SUCCESS || maj != cfg.CudaMajor || minor != cfg.CudaMinor {
					t.Errorf("gpu %d GetCudaComputeCapability() = %d.%d, %v", i, maj, minor, ret)
				}
				if mem, ret := d.GetMemoryInfo(); ret != nvml.SUCCESS || mem.Total != cfg.MemoryMB<<20 || mem.Free != mem.Total {
					t.Errorf("gpu %d GetMemoryInfo() = %+v, %v", i, mem, ret)
				}
				if b, ret := d.GetBrand(); ret != nvml.SUCCESS || b != cfg.Brand {
					t.Errorf("gpu %d GetBrand() = %v, %v", i, b, ret)
				}
				if cur, pending, ret := d.GetMigMode(); ret != nvml.SUCCESS || cur != 0 || pending != 0 {
					t.Errorf("gpu %d GetMigMode() = %d/%d, %v", i, cur, pending, ret)
				}
				if s, ret := d.GetSerial(); ret != nvml.SUCCESS || len(s) != 13 {
					t.Errorf("gpu %d GetSerial() = %q, %v", i, s, ret)
				} else if h, ret := lib.DeviceGetHandleBySerial(s); ret != nvml.SUCCESS || h != d {
					t.Errorf("DeviceGetHandleBySerial(%q) = %v", s, ret)
				}
			}
			if _, ret := lib.DeviceGetHandleByPciBusId("0000:00:1f.7"); ret != nvml.ERROR_NOT_FOUND {
				t.Errorf("DeviceGetHandleByPciBusId(no such GPU) = %v, want ERROR_NOT_FOUND", ret)
			}
			if _, ret := lib.DeviceGetHandleByPciBusId("garbage"); ret != nvml.ERROR_INVALID_ARGUMENT {
				t.Errorf("DeviceGetHandleByPciBusId(garbage) = %v, want ERROR_INVALID_ARGUMENT", ret)
			}
			if _, ret := lib.DeviceGetHandleByIndex(len(m.GPUs)); ret == nvml.SUCCESS {
				t.Errorf("DeviceGetHandleByIndex(out of range) succeeded")
			}
		})
	}
}

func checkInt(t *testing.T, what string, gpu, want int) func(int, nvml.Return) {
	return func(got int, ret nvml.Return) {
		t.Helper()
		if ret != nvml.SUCCESS || got != want {
			t.Errorf("gpu %d %s() = %d, %v; want %d", gpu, what, got, ret, want)
		}
	}
}

func checkU32(t *testing.T, what string, gpu int, want uint32) func(uint32, nvml.Return) {
	return func(got uint32, ret nvml.Return) {
		t.Helper()
		if ret != nvml.SUCCESS || got != want {
			t.Errorf("gpu %d %s() = %d, %v; want %d", gpu, what, got, ret, want)
		}
	}
}

func TestNVMLVersions(t *testing.T) {
	tests := []struct {
		machine, driver, nvmlVersion string
		cuda                         int
	}{
		{"dgxh100", "550.54.15", "12.550.54.15", 12040},
		{"dgxb200", "560.28.03", "12.560.28.03", 12060},
		{"workstation", "550.54.15", "12.550.54.15", 12040},
	}
	for _, tt := range tests {
		lib := mustNVML(t, mustLoad(t, tt.machine), "")
		if v, ret := lib.SystemGetDriverVersion(); ret != nvml.SUCCESS || v != tt.driver {
			t.Errorf("%s SystemGetDriverVersion() = %q, %v; want %q", tt.machine, v, ret, tt.driver)
		}
		if v, ret := lib.SystemGetNVMLVersion(); ret != nvml.SUCCESS || v != tt.nvmlVersion {
			t.Errorf("%s SystemGetNVMLVersion() = %q, %v; want %q", tt.machine, v, ret, tt.nvmlVersion)
		}
		if v, ret := lib.SystemGetCudaDriverVersion(); ret != nvml.SUCCESS || v != tt.cuda {
			t.Errorf("%s SystemGetCudaDriverVersion() = %d, %v; want %d", tt.machine, v, ret, tt.cuda)
		}
	}

	m := mustLoad(t, "dgxh100")
	m.DriverVersion = "570.86.10"
	lib := mustNVML(t, m, "")
	if v, _ := lib.SystemGetDriverVersion(); v != "570.86.10" {
		t.Errorf("overridden driver version = %q", v)
	}
	if v, _ := lib.SystemGetNVMLVersion(); v != "12.570.86.10" {
		t.Errorf("NVML version with overridden driver = %q", v)
	}
}

func TestSetUtilization(t *testing.T) {
	m := mustLoad(t, "dgxh100") // 70 W idle, 700 W max
	lib := mustNVML(t, m, "")
	d := device(t, lib, 3)
	steps := []struct {
		pct     int
		powerMW uint32
	}{{100, 700000}, {50, 385000}, {10, 133000}, {0, 70000}}
	for _, s := range steps {
		if err := lib.SetUtilization(3, s.pct); err != nil {
			t.Fatalf("SetUtilization(3, %d) = %v", s.pct, err)
		}
		checkU32(t, "GetPowerUsage", 3, s.powerMW)(d.GetPowerUsage())
		if u, _ := d.GetUtilizationRates(); u.Gpu != uint32(s.pct) {
			t.Errorf("utilisation = %d, want %d", u.Gpu, s.pct)
		}
		// Only the chosen GPU moves.
		checkU32(t, "GetPowerUsage", 2, 70000)(device(t, lib, 2).GetPowerUsage())
	}
	for _, bad := range [][2]int{{-1, 10}, {8, 10}, {0, -1}, {0, 101}} {
		if err := lib.SetUtilization(bad[0], bad[1]); err == nil {
			t.Errorf("SetUtilization(%d, %d) = nil, want an error", bad[0], bad[1])
		}
	}
}

func TestNVMLAffinityAndTopology(t *testing.T) {
	m := mustLoad(t, "dgxa100") // NPS4: 16 cores per node, SMT2, 128 cores
	lib := mustNVML(t, m, "")
	gpu0 := device(t, lib, 0) // NUMA 3: cores 48-63, threads 176-191

	mask, ret := gpu0.GetCpuAffinity(256)
	if ret != nvml.SUCCESS {
		t.Fatalf("GetCpuAffinity = %v", ret)
	}
	if want := affinityWords(256); len(mask) != want {
		t.Errorf("GetCpuAffinity returned %d words, want %d", len(mask), want)
	}
	var cpus []int
	for w, word := range mask {
		for b := 0; b < bits.UintSize; b++ {
			if word&(1<<uint(b)) != 0 {
				cpus = append(cpus, w*bits.UintSize+b)
			}
		}
	}
	if got := cpuList(cpus); got != "48-63,176-191" {
		t.Errorf("GPU0 CPU affinity = %s, want 48-63,176-191", got)
	}
	sock, _ := gpu0.GetCpuAffinityWithinScope(256, nvml.AFFINITY_SCOPE_SOCKET)
	if got := bits.OnesCount(sock[0]) + bits.OnesCount(sock[1]) + bits.OnesCount(sock[2]) + bits.OnesCount(sock[3]); got != 128 {
		t.Errorf("GPU0 socket-scope affinity has %d CPUs, want 128", got)
	}
	if nodes, ret := gpu0.GetMemoryAffinity(8, nvml.AFFINITY_SCOPE_NODE); ret != nvml.SUCCESS || nodes[0] != 1<<3 {
		t.Errorf("GPU0 memory affinity = %v, %v; want node 3", nodes, ret)
	}

	levels := []struct {
		a, b int
		want nvml.GpuTopologyLevel
	}{
		{0, 0, nvml.TOPOLOGY_INTERNAL},
		{0, 1, nvml.TOPOLOGY_HOSTBRIDGE}, // pair under pci0000:00
		{0, 2, nvml.TOPOLOGY_SYSTEM},     // NUMA 3 vs NUMA 1
	}
	for _, l := range levels {
		got, ret := device(t, lib, l.a).GetTopologyCommonAncestor(device(t, lib, l.b))
		if ret != nvml.SUCCESS || got != l.want {
			t.Errorf("GetTopologyCommonAncestor(%d, %d) = %v, %v; want %v", l.a, l.b, got, ret, l.want)
		}
		// The library-level form forwards to the device.
		if got, ret := lib.DeviceGetTopologyCommonAncestor(device(t, lib, l.a), device(t, lib, l.b)); ret != nvml.SUCCESS || got != l.want {
			t.Errorf("DeviceGetTopologyCommonAncestor(%d, %d) = %v, %v; want %v", l.a, l.b, got, ret, l.want)
		}
	}
}

// TestNVMLUnsimulatedCallsDoNotPanic covers the completion of the mock:
// calls nobody simulates answer ERROR_NOT_SUPPORTED, library-level device
// calls forward, and nil arguments are rejected.
func TestNVMLUnsimulatedCallsDoNotPanic(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d := device(t, lib, 0)
	if _, ret := d.GetTemperature(nvml.TEMPERATURE_GPU); ret != nvml.ERROR_NOT_SUPPORTED {
		t.Errorf("GetTemperature = %v, want ERROR_NOT_SUPPORTED", ret)
	}
	if _, ret := lib.DeviceGetTemperature(d, nvml.TEMPERATURE_GPU); ret != nvml.ERROR_NOT_SUPPORTED {
		t.Errorf("DeviceGetTemperature = %v, want ERROR_NOT_SUPPORTED", ret)
	}
	if _, ret := lib.DeviceGetPowerUsage(nil); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("DeviceGetPowerUsage(nil) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if p, ret := lib.DeviceGetPowerUsage(d); ret != nvml.SUCCESS || p != 70000 {
		t.Errorf("DeviceGetPowerUsage(d) = %d, %v; want forwarding to the device", p, ret)
	}
	if _, ret := d.CreateGpuInstance(nil); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("CreateGpuInstance(nil) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if _, ret := lib.SystemGetCudaDriverVersion_v2(); ret != nvml.SUCCESS {
		t.Errorf("SystemGetCudaDriverVersion_v2 = %v", ret)
	}
	if s := lib.ErrorString(nvml.ERROR_NOT_FOUND); s != "ERROR_NOT_FOUND" {
		t.Errorf("ErrorString = %q", s)
	}
	if ok, ret := d.IsMigDeviceHandle(); ret != nvml.SUCCESS || ok {
		t.Errorf("IsMigDeviceHandle = %v, %v", ok, ret)
	}
}

// TestNVMLMIG checks the basic MIG round trip: a GPU instance and a
// compute instance can be created and queried, and the instances answer
// unsimulated calls and nil arguments without panicking.
func TestNVMLMIG(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d := device(t, lib, 0)
	if ret, _ := d.SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatalf("SetMigMode = %v", ret)
	}
	if n, ret := d.GetMaxMigDeviceCount(); ret != nvml.SUCCESS || n != 7 {
		t.Errorf("GetMaxMigDeviceCount = %d, %v; want 7", n, ret)
	}
	profile, ret := d.GetGpuInstanceProfileInfo(nvml.GPU_INSTANCE_PROFILE_1_SLICE)
	if ret != nvml.SUCCESS {
		t.Fatalf("GetGpuInstanceProfileInfo = %v", ret)
	}
	gi, ret := d.CreateGpuInstance(&profile)
	if ret != nvml.SUCCESS {
		t.Fatalf("CreateGpuInstance = %v", ret)
	}
	info, ret := gi.GetInfo()
	if ret != nvml.SUCCESS || info.Device != d {
		t.Errorf("GpuInstance.GetInfo() = %+v, %v; want the parent device handle", info, ret)
	}
	if _, ret := gi.GetComputeInstanceProfileInfo(-1, 0); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("GetComputeInstanceProfileInfo(-1) = %v", ret)
	}
	ciProfile, ret := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
	if ret != nvml.SUCCESS {
		t.Fatalf("GetComputeInstanceProfileInfo = %v", ret)
	}
	ci, ret := gi.CreateComputeInstance(&ciProfile)
	if ret != nvml.SUCCESS {
		t.Fatalf("CreateComputeInstance = %v", ret)
	}
	if _, ret := ci.GetInfo(); ret != nvml.SUCCESS {
		t.Errorf("ComputeInstance.GetInfo = %v", ret)
	}
	if _, ret := gi.GetActiveVgpus(); ret != nvml.ERROR_NOT_SUPPORTED {
		t.Errorf("unsimulated GpuInstance call = %v, want ERROR_NOT_SUPPORTED", ret)
	}
	if _, ret := gi.CreateComputeInstance(nil); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("CreateComputeInstance(nil) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if ret := ci.Destroy(); ret != nvml.SUCCESS {
		t.Errorf("ComputeInstance.Destroy = %v", ret)
	}
	if ret := gi.Destroy(); ret != nvml.SUCCESS {
		t.Errorf("GpuInstance.Destroy = %v", ret)
	}
}

func TestNewNVMLRejectsInvalidMachine(t *testing.T) {
	m := validMachine()
	m.GPUs[0].PCIBusID = "nope"
	if _, err := m.NewNVML("x"); err == nil || !strings.Contains(err.Error(), "gpus[0].pciBusID") {
		t.Errorf("NewNVML(invalid) = %v, want an error naming gpus[0].pciBusID", err)
	}
}

func TestNVMLKeepsItsOwnCopy(t *testing.T) {
	m := mustLoad(t, "workstation")
	lib := mustNVML(t, m, "")
	m.GPUs[0].NUMANode = 99
	checkInt(t, "GetNumaNodeId", 0, 0)(device(t, lib, 0).GetNumaNodeId())
	if lib.Machine().GPUs[0].NUMANode != 0 {
		t.Error("Machine() reflects the caller's later edit")
	}
}

// TestNVMLConcurrentUse lets a load generator and readers race, for the
// race detector: drivers poll NVML from several goroutines.
func TestNVMLConcurrentUse(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "workstation"), "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pct := 0; pct <= 100; pct++ {
			if err := lib.SetUtilization(pct%2, pct); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		d := device(t, lib, i%2)
		if p, ret := d.GetPowerUsage(); ret != nvml.SUCCESS || p < 35000 || p > 250000 {
			t.Fatalf("GetPowerUsage() = %d, %v; want within 35-250 W", p, ret)
		}
	}
	<-done
}
