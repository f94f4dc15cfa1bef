package simhw

import (
	"fmt"
	"strings"
	"testing"
)

// validNICMachine is validMachine with NICs of every kind: one paired with
// GPU 0 behind its switch, a dual-port Ethernet card on a root port of its
// own, and a NIC without RDMA.
func validNICMachine() *Machine {
	m := validMachine()
	gpu0 := 0
	m.NICs = []NIC{
		{Model: "ConnectX-7", PCIBusID: "0000:1b:00.0", PCIeRoot: "pci0000:15", NUMANode: 0, Interface: "ibp27s0", LinkLayer: "InfiniBand", SpeedGbps: 400, PairedGPU: &gpu0},
		{Model: "ConnectX-6", PCIBusID: "0000:3d:00.0", PCIeRoot: "pci0000:37", NUMANode: 1, Interface: "enp61s0f0np0", LinkLayer: "Ethernet", SpeedGbps: 100},
		{Model: "ConnectX-6", PCIBusID: "0000:3d:00.1", PCIeRoot: "pci0000:37", NUMANode: 1, Interface: "enp61s0f1np1", LinkLayer: "Ethernet", SpeedGbps: 100},
		{Model: "I225", PCIBusID: "0000:9a:00.0", PCIeRoot: "pci0000:97", NUMANode: 3, Interface: "enp154s0", LinkLayer: "none", SpeedGbps: 2.5},
	}
	return m
}

func TestValidateAcceptsNICs(t *testing.T) {
	m := validNICMachine()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	m.NICs[3].LinkLayer = ""
	m.CPU.CoresPerL3 = 2
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate() with empty link layer and coresPerL3 = %v, want nil", err)
	}
}

func TestValidateRejectsNICs(t *testing.T) {
	intp := func(i int) *int { return &i }
	tests := []struct {
		name   string
		mutate func(*Machine)
		field  string // must appear as "field: "
		detail string // must appear in the message
	}{
		{"missing model", func(m *Machine) { m.NICs[0].Model = "" }, "nics[0].model", "is required (want one of BlueField-3, ConnectX-6"},
		{"unknown model", func(m *Machine) { m.NICs[0].Model = "ConnectX-9" }, "nics[0].model", `"ConnectX-9" is not a known NIC model`},
		{"two models on one card", func(m *Machine) { m.NICs[2].Model = "ConnectX-7" }, "nics[2].model", "another function of the same card"},
		{"bus ID not an address", func(m *Machine) { m.NICs[0].PCIBusID = "xyz" }, "nics[0].pciBusID", "not a PCI address"},
		{"bus ID of a GPU", func(m *Machine) {
			m.NICs[3].PCIBusID = "0000:98:00.0"
		}, "nics[3].pciBusID", "duplicates gpus[2].pciBusID"},
		{"bus ID of another NIC", func(m *Machine) { m.NICs[2].PCIBusID = "0000:3d:00.0" }, "nics[2].pciBusID", "duplicates nics[1].pciBusID"},
		{"bad root", func(m *Machine) { m.NICs[0].PCIeRoot = "15" }, "nics[0].pcieRoot", "not a PCI host bridge name"},
		{"bus not behind root", func(m *Machine) {
			m.NICs[1].PCIeRoot, m.NICs[2].PCIeRoot = "pci0000:3e", "pci0000:3e"
		}, "nics[1].pciBusID", `bus 3d is not behind pcieRoot "pci0000:3e"`},
		{"bus in another root's range", func(m *Machine) { m.NICs[3].PCIBusID, m.NICs[3].PCIeRoot = "0000:99:00.0", "pci0000:37" }, "nics[3].pciBusID", "belongs to host bridge pci0000:97"},
		{"negative NUMA node", func(m *Machine) { m.NICs[3].NUMANode = -1 }, "nics[3].numaNode", "negative"},
		{"NUMA node out of range", func(m *Machine) { m.NICs[3].NUMANode = 4 }, "nics[3].numaNode", "the CPU topology has 4 NUMA nodes"},
		{"one root on two NUMA nodes", func(m *Machine) { m.NICs[1].NUMANode = 0 }, "nics[1].numaNode", "differs from gpus[1].numaNode 1 although both hang under pcieRoot"},
		{"NIC on a GPU's bus", func(m *Machine) {
			m.NICs[3].PCIBusID, m.NICs[3].PCIeRoot, m.NICs[3].NUMANode = "0000:18:00.1", "pci0000:15", 0
		}, "nics[3].pciBusID", "bus 18 already holds gpus[0]"},
		{"card functions paired differently", func(m *Machine) {
			m.NICs[1].PCIBusID, m.NICs[1].PCIeRoot, m.NICs[1].NUMANode, m.NICs[1].LinkLayer, m.NICs[1].SpeedGbps = "0000:1b:00.1", "pci0000:15", 0, "InfiniBand", 200
		}, "nics[1].pciBusID", "bus 1b already holds nics[0]"},
		{"NIC inside a switch's buses", func(m *Machine) {
			m.NICs[3].PCIBusID, m.NICs[3].PCIeRoot, m.NICs[3].NUMANode = "0000:19:00.0", "pci0000:15", 0
		}, "nics[3].pciBusID", "bus 19 lies inside buses 16-1b, which the root port of gpus[0] takes"},
		{"no room for the shared switch", func(m *Machine) { m.NICs[0].PCIBusID = "0000:16:00.0" }, "nics[0].pairedGPU",
			"the PCIe switch shared with gpus[0] needs two free bus numbers between bus 15 (host bridge pci0000:15) and bus 16"},
		{"missing interface", func(m *Machine) { m.NICs[0].Interface = "" }, "nics[0].interface", "is required"},
		{"interface too long", func(m *Machine) { m.NICs[0].Interface = "enp61s0f0np0abcd" }, "nics[0].interface", "is not a network interface name"},
		{"interface with a slash", func(m *Machine) { m.NICs[0].Interface = "ib/0" }, "nics[0].interface", "is not a network interface name"},
		{"interface starting with a dot", func(m *Machine) { m.NICs[0].Interface = ".." }, "nics[0].interface", "is not a network interface name"},
		{"reserved interface", func(m *Machine) { m.NICs[0].Interface = "lo" }, "nics[0].interface", `"lo" is reserved`},
		{"duplicate interface", func(m *Machine) { m.NICs[2].Interface = "enp61s0f0np0" }, "nics[2].interface", "duplicates nics[1].interface"},
		{"unknown link layer", func(m *Machine) { m.NICs[1].LinkLayer = "RoCE" }, "nics[1].linkLayer", `"RoCE" is not a link layer (want InfiniBand, Ethernet, or none`},
		{"RDMA on a NIC without it", func(m *Machine) { m.NICs[3].LinkLayer = "Ethernet" }, "nics[3].linkLayer", "needs RDMA, which I225 does not have"},
		{"zero speed", func(m *Machine) { m.NICs[0].SpeedGbps = 0 }, "nics[0].speedGbps", "not a positive speed"},
		{"speed above the model's", func(m *Machine) { m.NICs[1].SpeedGbps = 400 }, "nics[1].speedGbps", "above ConnectX-6's 200 Gb/s"},
		{"speed in fractions of Mb/s", func(m *Machine) { m.NICs[3].SpeedGbps = 1.0005 }, "nics[3].speedGbps", "not a whole number of Mb/s"},
		{"speed no IB rate", func(m *Machine) { m.NICs[1].SpeedGbps = 150 }, "nics[1].speedGbps", "not an InfiniBand/RoCE link rate"},
		{"paired GPU missing", func(m *Machine) { m.NICs[0].PairedGPU = intp(3) }, "nics[0].pairedGPU", "3 is not a GPU index (the machine has 3 GPUs)"},
		{"paired GPU negative", func(m *Machine) { m.NICs[0].PairedGPU = intp(-1) }, "nics[0].pairedGPU", "not a GPU index"},
		{"paired GPU on another root", func(m *Machine) { m.NICs[1].PairedGPU = intp(0) }, "nics[1].pcieRoot",
			`"pci0000:37" differs from gpus[0].pcieRoot "pci0000:15", the GPU it is paired with`},
		{"paired GPU on another NUMA node", func(m *Machine) { m.NICs[0].NUMANode = 1 }, "nics[0].numaNode",
			"1 differs from gpus[0].numaNode 0, the GPU it is paired with"},
		{"too many NICs", func(m *Machine) { m.NICs = make([]NIC, maxNICs+1) }, "nics", "more than"},
		{"too many root ports", func(m *Machine) {
			// pci0000:97 already has two root ports (gpus[2], nics[3]).
			for b := 0xa0; b < 0xa0+maxRootPorts-1; b++ {
				m.NICs = append(m.NICs, NIC{Model: "I225", PCIBusID: fmt.Sprintf("0000:%02x:00.0", b), PCIeRoot: "pci0000:97",
					NUMANode: 3, Interface: fmt.Sprintf("eth%d", b), SpeedGbps: 1})
			}
		}, "nics[33].pcieRoot", `"pci0000:97" already has 31 root ports`},
		{"too many downstream ports", func(m *Machine) {
			m.GPUs, m.NICs = m.GPUs[:1], nil
			for b := 0x1b; b < 0x1b+maxDownstreamPorts; b++ {
				m.NICs = append(m.NICs, NIC{Model: "ConnectX-7", PCIBusID: fmt.Sprintf("0000:%02x:00.0", b), PCIeRoot: "pci0000:15",
					NUMANode: 0, Interface: fmt.Sprintf("ib%d", b), LinkLayer: "InfiniBand", SpeedGbps: 400, PairedGPU: intp(0)})
			}
		}, "nics[0].pairedGPU", "gpus[0]'s PCIe switch would need 33 downstream ports, more than 32"},
		{"negative coresPerL3", func(m *Machine) { m.CPU.CoresPerL3 = -1 }, "cpu.coresPerL3", "negative"},
		{"coresPerL3 not dividing a node", func(m *Machine) { m.CPU.CoresPerL3 = 3 }, "cpu.coresPerL3", "3 does not divide the 4 cores of a NUMA node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validNICMachine()
			tt.mutate(m)
			errs := wantValidationError(t, m, tt.field, tt.detail)
			// One mistake, one report per field: a paired NIC on the wrong
			// NUMA node is not also reported as splitting its root.
			seen := map[string]bool{}
			for _, fe := range errs {
				if seen[fe.Field] && strings.HasSuffix(fe.Field, ".numaNode") {
					t.Errorf("Validate() reports %s twice: %v", fe.Field, errs)
				}
				seen[fe.Field] = true
			}
		})
	}
}

func TestParseNICs(t *testing.T) {
	const good = `
name: n
cpu: {coresPerSocket: 8, memoryGiB: 8, coresPerL3: 4}
gpus:
  - {model: a30-pcie-24gb, pciBusID: "0000:03:00.0", pcieRoot: "pci0000:00", numaNode: 0, idlePowerWatts: 30, maxPowerWatts: 165}
nics:
  - {model: ConnectX-7, pciBusID: "0000:05:00.0", pcieRoot: "pci0000:00", numaNode: 0, interface: ibp5s0, linkLayer: InfiniBand, speedGbps: 400, pairedGPU: 0}
  - {model: I225, pciBusID: "0000:08:00.0", pcieRoot: "pci0000:00", numaNode: 0, interface: enp8s0, speedGbps: 2.5}
`
	m, err := Parse([]byte(good))
	if err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
	if len(m.NICs) != 2 || m.NICs[0].PairedGPU == nil || *m.NICs[0].PairedGPU != 0 || m.NICs[1].PairedGPU != nil ||
		m.NICs[1].SpeedGbps != 2.5 || m.NICs[1].LinkLayer != "" || m.CPU.CoresPerL3 != 4 {
		t.Errorf("decoded %+v, cpu %+v", m.NICs, m.CPU)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"unknown NIC field", strings.Replace(good, "interface: enp8s0,", "interface: enp8s0, ports: 2,", 1), `unknown field "ports"`},
		{"pairedGPU not a number", strings.Replace(good, "pairedGPU: 0", "pairedGPU: first", 1), "cannot unmarshal"},
		{"speed not a number", strings.Replace(good, "speedGbps: 2.5", "speedGbps: fast", 1), "cannot unmarshal"},
		{"nics not a list", strings.Split(good, "nics:")[0] + "nics: {model: I225}\n", "cannot unmarshal"},
		{"invalid NIC", strings.Replace(good, "linkLayer: InfiniBand", "linkLayer: infiniband", 1), `nics[0].linkLayer: "infiniband" is not a link layer`},
		{"paired NIC without the switch's buses", strings.Replace(good, `"0000:05:00.0"`, `"0000:02:00.0"`, 1), "nics[0].pairedGPU: the PCIe switch shared with gpus[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantParseError(t, tt.doc, tt.want) })
	}
}

func TestRDMARate(t *testing.T) {
	tests := []struct {
		gbps float64
		want string // "" for no rate
	}{
		{400, "400 Gb/sec (4X NDR)"},
		{200, "200 Gb/sec (4X HDR)"},
		{100, "100 Gb/sec (4X EDR)"},
		{800, "800 Gb/sec (4X XDR)"},
		{56, "56 Gb/sec (4X FDR)"},
		{25, "25 Gb/sec (1X EDR)"},
		{2.5, "2.5 Gb/sec (1X SDR)"},
		{150, ""},
		{0, ""},
		{-100, ""},
		{100.05, ""},
	}
	for _, tt := range tests {
		got, ok := rdmaRate(tt.gbps)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("rdmaRate(%v) = %q, %v; want %q", tt.gbps, got, ok, tt.want)
		}
	}
}
