package simhw

import (
	"path/filepath"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// TestPCIeEraModels builds a machine of each Pascal-to-Ampere model and
// checks what NVML and sysfs report against the datasheet facts.
func TestPCIeEraModels(t *testing.T) {
	tests := []struct {
		model     string
		name      string
		arch      nvml.DeviceArchitecture
		major     int
		minor     int
		memoryMiB uint64
		pciDevice string
		linkGen   int
		linkSpeed string
	}{
		{"p100-pcie-16gb", "Tesla P100-PCIE-16GB", nvml.DEVICE_ARCH_PASCAL, 6, 0, 16384, "0x15f8", 3, "8.0 GT/s PCIe"},
		{"t4-pcie-16gb", "Tesla T4", nvml.DEVICE_ARCH_TURING, 7, 5, 16384, "0x1eb8", 3, "8.0 GT/s PCIe"},
		{"v100-sxm2-16gb", "Tesla V100-SXM2-16GB", nvml.DEVICE_ARCH_VOLTA, 7, 0, 16384, "0x1db1", 3, "8.0 GT/s PCIe"},
		{"v100-sxm2-32gb", "Tesla V100-SXM2-32GB", nvml.DEVICE_ARCH_VOLTA, 7, 0, 32768, "0x1db5", 3, "8.0 GT/s PCIe"},
		{"a10-pcie-24gb", "NVIDIA A10", nvml.DEVICE_ARCH_AMPERE, 8, 6, 24576, "0x2236", 4, "16.0 GT/s PCIe"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			if !contains(Models(), tc.model) {
				t.Fatalf("Models() = %v, want it to list %s", Models(), tc.model)
			}
			m := &Machine{
				Name: "pcie-" + tc.model,
				CPU:  CPUTopology{Sockets: 1, NUMANodesPerSocket: 1, CoresPerSocket: 8, ThreadsPerCore: 2, MemoryGiB: 64},
				GPUs: []GPU{
					{Model: tc.model, PCIBusID: "0000:03:00.0", PCIeRoot: "pci0000:00", IdlePowerWatts: 10, MaxPowerWatts: 70},
					{Model: tc.model, PCIBusID: "0000:23:00.0", PCIeRoot: "pci0000:20", IdlePowerWatts: 10, MaxPowerWatts: 70},
				},
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			lib := mustNVML(t, m, "")
			d := device(t, lib, 1)
			if got, ret := d.GetName(); ret != nvml.SUCCESS || got != tc.name {
				t.Errorf("GetName() = %q, %v; want %q", got, ret, tc.name)
			}
			if got, ret := d.GetArchitecture(); ret != nvml.SUCCESS || got != tc.arch {
				t.Errorf("GetArchitecture() = %v, %v; want %v", got, ret, tc.arch)
			}
			if major, minor, ret := d.GetCudaComputeCapability(); ret != nvml.SUCCESS || major != tc.major || minor != tc.minor {
				t.Errorf("GetCudaComputeCapability() = %d.%d, %v; want %d.%d", major, minor, ret, tc.major, tc.minor)
			}
			if mem, ret := d.GetMemoryInfo(); ret != nvml.SUCCESS || mem.Total != tc.memoryMiB<<20 {
				t.Errorf("GetMemoryInfo().Total = %d, %v; want %d", mem.Total, ret, tc.memoryMiB<<20)
			}
			if gen, ret := d.GetMaxPcieLinkGeneration(); ret != nvml.SUCCESS || gen != tc.linkGen {
				t.Errorf("GetMaxPcieLinkGeneration() = %d, %v; want %d", gen, ret, tc.linkGen)
			}
			if _, _, ret := d.GetMigMode(); ret != nvml.ERROR_NOT_SUPPORTED {
				t.Errorf("GetMigMode() = %v, want ERROR_NOT_SUPPORTED (no MIG)", ret)
			}
			if err := lib.SetMIGMode(0, true); err == nil {
				t.Errorf("SetMIGMode(0, true) = nil, want an error: the model has no MIG")
			}

			root := t.TempDir()
			if err := m.WriteSysfs(root); err != nil {
				t.Fatalf("WriteSysfs() = %v", err)
			}
			dev := filepath.Join(root, "sys/bus/pci/devices/0000:23:00.0")
			if got := readTrim(t, filepath.Join(dev, "device")); got != tc.pciDevice {
				t.Errorf("sysfs device = %s, want %s", got, tc.pciDevice)
			}
			if got := readTrim(t, filepath.Join(dev, "max_link_speed")); got != tc.linkSpeed {
				t.Errorf("sysfs max_link_speed = %q, want %q", got, tc.linkSpeed)
			}
		})
	}
}
