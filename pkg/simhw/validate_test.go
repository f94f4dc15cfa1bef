package simhw

import (
	"errors"
	"strings"
	"testing"
)

// validMachine returns a small composed machine that passes Validate, for
// tests to break one field at a time.
func validMachine() *Machine {
	return &Machine{
		Name: "test-node",
		CPU: CPUTopology{
			Sockets: 2, NUMANodesPerSocket: 2, CoresPerSocket: 8, ThreadsPerCore: 2, MemoryGiB: 64,
		},
		GPUs: []GPU{
			{Model: "a100-pcie-40gb", PCIBusID: "0000:18:00.0", PCIeRoot: "pci0000:15", NUMANode: 0, IdlePowerWatts: 35, MaxPowerWatts: 250},
			{Model: "a30-pcie-24gb", PCIBusID: "0000:3b:00.0", PCIeRoot: "pci0000:37", NUMANode: 1, IdlePowerWatts: 30, MaxPowerWatts: 165},
			{Model: "a100-pcie-40gb", PCIBusID: "0000:98:00.0", PCIeRoot: "pci0000:97", NUMANode: 3, IdlePowerWatts: 35, MaxPowerWatts: 250},
		},
	}
}

func TestValidateAcceptsValidMachine(t *testing.T) {
	if err := validMachine().Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Machine)
		field  string // must appear as "field: "
		detail string // must appear in the message
	}{
		{"missing name", func(m *Machine) { m.Name = "" }, "name", "required"},
		{"control chars in name", func(m *Machine) { m.Name = "a\nb" }, "name", "control characters"},
		{"unknown base", func(m *Machine) { m.Base = "dgx1" }, "base", `"dgx1" is not a known base`},
		{"bad driver version", func(m *Machine) { m.DriverVersion = "latest" }, "driverVersion", "not a driver version"},
		{"zero sockets", func(m *Machine) { m.CPU.Sockets = 0 }, "cpu.sockets", "out of range"},
		{"zero NUMA nodes per socket", func(m *Machine) { m.CPU.NUMANodesPerSocket = 0 }, "cpu.numaNodesPerSocket", "out of range"},
		{"zero cores", func(m *Machine) { m.CPU.CoresPerSocket = 0 }, "cpu.coresPerSocket", "out of range"},
		{"too many threads", func(m *Machine) { m.CPU.ThreadsPerCore = 9 }, "cpu.threadsPerCore", "out of range"},
		{"no memory", func(m *Machine) { m.CPU.MemoryGiB = 0 }, "cpu.memoryGiB", "out of range"},
		{"uneven cores per node", func(m *Machine) { m.CPU.CoresPerSocket = 7 }, "cpu.coresPerSocket", "cannot be split evenly"},
		{"too many CPUs", func(m *Machine) {
			m.CPU.Sockets, m.CPU.CoresPerSocket, m.CPU.ThreadsPerCore = 64, 1024, 8
		}, "cpu.threadsPerCore", "logical CPUs"},
		{"too many NUMA nodes", func(m *Machine) {
			m.CPU.Sockets, m.CPU.NUMANodesPerSocket, m.CPU.CoresPerSocket = 64, 64, 64
		}, "cpu.numaNodesPerSocket", "NUMA nodes"},
		{"missing model without base", func(m *Machine) { m.GPUs[1].Model = "" }, "gpus[1].model", "required when base is empty"},
		{"unknown model", func(m *Machine) { m.GPUs[2].Model = "rtx-4090" }, "gpus[2].model", `"rtx-4090" is not a known GPU model`},
		{"model conflicting with base", func(m *Machine) { m.Base = "dgxh100" }, "gpus[0].model", "conflicts with base"},
		{"bus ID not an address", func(m *Machine) { m.GPUs[2].PCIBusID = "xyz" }, "gpus[2].pciBusID", `"xyz" is not a PCI address (want 0000:18:00.0`},
		{"bus ID upper case", func(m *Machine) { m.GPUs[0].PCIBusID = "0000:1B:00.0" }, "gpus[0].pciBusID", "not a PCI address"},
		{"bus ID NVML form", func(m *Machine) { m.GPUs[0].PCIBusID = "00000000:18:00.0" }, "gpus[0].pciBusID", "not a PCI address"},
		{"bus ID device above 0x1f", func(m *Machine) { m.GPUs[0].PCIBusID = "0000:18:20.0" }, "gpus[0].pciBusID", "not a PCI address"},
		{"duplicate bus ID", func(m *Machine) {
			m.GPUs[1].PCIBusID, m.GPUs[1].PCIeRoot, m.GPUs[1].NUMANode = "0000:18:00.0", "pci0000:15", 0
		}, "gpus[1].pciBusID", "duplicates gpus[0].pciBusID"},
		{"bad root", func(m *Machine) { m.GPUs[0].PCIeRoot = "0000:15" }, "gpus[0].pcieRoot", "not a PCI host bridge name"},
		{"root in other domain", func(m *Machine) { m.GPUs[0].PCIeRoot = "pci0001:15" }, "gpus[0].pcieRoot", "domain"},
		{"GPU bus not behind root", func(m *Machine) { m.GPUs[0].PCIeRoot = "pci0000:18" }, "gpus[0].pciBusID", "not behind pcieRoot"},
		{"GPU bus in another root's range", func(m *Machine) { m.GPUs[1].PCIBusID = "0000:99:00.0" }, "gpus[1].pciBusID", "belongs to host bridge pci0000:97"},
		{"one root on two NUMA nodes", func(m *Machine) {
			m.GPUs[1].PCIBusID, m.GPUs[1].PCIeRoot = "0000:19:00.0", "pci0000:15"
		}, "gpus[1].numaNode", "a root complex belongs to one NUMA node"},
		{"negative NUMA node", func(m *Machine) { m.GPUs[0].NUMANode = -1 }, "gpus[0].numaNode", "negative"},
		{"NUMA node out of range", func(m *Machine) { m.GPUs[2].NUMANode = 4 }, "gpus[2].numaNode", "the CPU topology has 4 NUMA nodes"},
		{"idle above max", func(m *Machine) { m.GPUs[0].IdlePowerWatts = 300 }, "gpus[0].idlePowerWatts", "above maxPowerWatts 250"},
		{"negative idle", func(m *Machine) { m.GPUs[0].IdlePowerWatts = -1 }, "gpus[0].idlePowerWatts", "negative"},
		{"zero max power", func(m *Machine) { m.GPUs[0].MaxPowerWatts = 0 }, "gpus[0].maxPowerWatts", "out of range"},
		{"too many GPUs", func(m *Machine) { m.GPUs = make([]GPU, maxGPUs+1) }, "gpus", "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMachine()
			tt.mutate(m)
			wantValidationError(t, m, tt.field, tt.detail)
		})
	}
}

// wantValidationError checks that Validate rejects m with a one-line
// *ValidationError naming field ("field: ") and containing detail, and
// returns its entries.
func wantValidationError(t *testing.T, m *Machine, field, detail string) []*FieldError {
	t.Helper()
	err := m.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	msg := err.Error()
	if !strings.Contains(msg, field+": ") || !strings.Contains(msg, detail) {
		t.Errorf("Validate() = %q, want field %q and %q", msg, field, detail)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("Validate() = %q, want one line", msg)
	}
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Errors) == 0 {
		t.Fatalf("Validate() error is %T, want *ValidationError with entries", err)
	}
	return verr.Errors
}

func TestValidateReportsAllProblems(t *testing.T) {
	m := validMachine()
	m.Name = ""
	m.GPUs[0].PCIBusID = "bad"
	m.GPUs[2].MaxPowerWatts = 0
	var verr *ValidationError
	if err := m.Validate(); !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	got := map[string]bool{}
	for _, fe := range verr.Errors {
		got[fe.Field] = true
	}
	for _, f := range []string{"name", "gpus[0].pciBusID", "gpus[2].maxPowerWatts"} {
		if !got[f] {
			t.Errorf("errors %v lack field %s", verr, f)
		}
	}
}

func TestValidateNil(t *testing.T) {
	var m *Machine
	if err := m.Validate(); err == nil {
		t.Fatal("(*Machine)(nil).Validate() = nil, want an error")
	}
}
