package simhw

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestBuiltinNames(t *testing.T) {
	got := Builtin()
	for _, want := range []string{"dgxa100", "dgxb200", "dgxh100", "dgxh200", "workstation"} {
		if !contains(got, want) {
			t.Errorf("Builtin() = %v, lacks %q", got, want)
		}
	}
	if !sort.StringsAreSorted(got) {
		t.Errorf("Builtin() = %v, not sorted", got)
	}
}

// TestLoadBuiltins checks every built-in parses and describes the topology
// its documentation promises.
func TestLoadBuiltins(t *testing.T) {
	type want struct {
		nodes, cpus, gpus, memGiB int
		gpuNodes                  []int
		idle, max                 int
		model                     string
		// NICs: how many, how many paired with a GPU, their link layers
		// and speeds; the cores per L3 cache.
		nics, paired, l3 int
		linkSpeeds       map[string]float64
	}
	dgxH := map[string]float64{"InfiniBand": 400, "Ethernet": 200}
	wants := map[string]want{
		"dgxh100": {nodes: 2, cpus: 224, gpus: 8, memGiB: 2048, gpuNodes: []int{0, 0, 0, 0, 1, 1, 1, 1}, idle: 70, max: 700, model: "h100-sxm5-80gb",
			nics: 12, paired: 8, l3: 56, linkSpeeds: dgxH},
		"dgxh200": {nodes: 2, cpus: 224, gpus: 8, memGiB: 2048, gpuNodes: []int{0, 0, 0, 0, 1, 1, 1, 1}, idle: 70, max: 700, model: "h200-sxm5-141gb",
			nics: 12, paired: 8, l3: 56, linkSpeeds: dgxH},
		"dgxb200": {nodes: 2, cpus: 224, gpus: 8, memGiB: 2048, gpuNodes: []int{0, 0, 0, 0, 1, 1, 1, 1}, idle: 140, max: 1000, model: "b200-sxm5-180gb",
			nics: 12, paired: 8, l3: 56, linkSpeeds: map[string]float64{"InfiniBand": 400, "Ethernet": 400}},
		"dgxa100": {nodes: 8, cpus: 256, gpus: 8, memGiB: 1024, gpuNodes: []int{3, 3, 1, 1, 7, 7, 5, 5}, idle: 50, max: 400, model: "a100-sxm4-40gb",
			nics: 12, paired: 8, l3: 4, linkSpeeds: map[string]float64{"InfiniBand": 200, "Ethernet": 200}},
		"workstation": {nodes: 1, cpus: 32, gpus: 2, memGiB: 256, gpuNodes: []int{0, 0}, idle: 35, max: 250, model: "a100-pcie-40gb",
			nics: 1, paired: 0, l3: 8, linkSpeeds: map[string]float64{"none": 2.5}},
	}
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			m, err := Load(name)
			if err != nil {
				t.Fatalf("Load(%q) = %v", name, err)
			}
			if m.Name != name {
				t.Errorf("Name = %q, want %q", m.Name, name)
			}
			w, ok := wants[name]
			if !ok {
				t.Fatalf("no expectations for built-in %q; add them", name)
			}
			if got := m.NUMANodes(); got != w.nodes {
				t.Errorf("NUMANodes() = %d, want %d", got, w.nodes)
			}
			if got := m.CPU.cpus(); got != w.cpus {
				t.Errorf("logical CPUs = %d, want %d", got, w.cpus)
			}
			if m.CPU.MemoryGiB != w.memGiB {
				t.Errorf("MemoryGiB = %d, want %d", m.CPU.MemoryGiB, w.memGiB)
			}
			if len(m.GPUs) != w.gpus {
				t.Fatalf("%d GPUs, want %d", len(m.GPUs), w.gpus)
			}
			for i, g := range m.GPUs {
				if g.NUMANode != w.gpuNodes[i] {
					t.Errorf("gpus[%d].numaNode = %d, want %d", i, g.NUMANode, w.gpuNodes[i])
				}
				if g.IdlePowerWatts != w.idle || g.MaxPowerWatts != w.max {
					t.Errorf("gpus[%d] power = %d/%d W, want %d/%d W", i, g.IdlePowerWatts, g.MaxPowerWatts, w.idle, w.max)
				}
				if got := m.modelOf(i); got != w.model {
					t.Errorf("gpus[%d] model = %q, want %q", i, got, w.model)
				}
			}
			if got := m.CPU.l3Cores(); got != w.l3 {
				t.Errorf("cores per L3 = %d, want %d", got, w.l3)
			}
			if len(m.NICs) != w.nics {
				t.Fatalf("%d NICs, want %d", len(m.NICs), w.nics)
			}
			paired := 0
			for i, n := range m.NICs {
				if n.PairedGPU != nil {
					paired++
					if n.LinkLayer != "InfiniBand" {
						t.Errorf("nics[%d] is paired with a GPU but its link layer is %q", i, n.LinkLayer)
					}
				}
				if speed, ok := w.linkSpeeds[n.LinkLayer]; !ok || n.SpeedGbps != speed {
					t.Errorf("nics[%d]: %v Gb/s %s, want %v", i, n.SpeedGbps, n.LinkLayer, w.linkSpeeds)
				}
			}
			if paired != w.paired {
				t.Errorf("%d NICs paired with GPUs, want %d", paired, w.paired)
			}
		})
	}
}

func TestDGXH100BusIDs(t *testing.T) {
	m, err := Load("dgxh100")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range m.GPUs {
		got = append(got, g.PCIBusID)
	}
	want := []string{"0000:1b:00.0", "0000:43:00.0", "0000:52:00.0", "0000:61:00.0",
		"0000:9d:00.0", "0000:c3:00.0", "0000:d1:00.0", "0000:df:00.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bus IDs = %v, want %v", got, want)
	}
}

func TestLoadExampleFile(t *testing.T) {
	m, err := Load(filepath.Join("machines", "example", "custom.yaml"))
	if err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	if m.Base != "" || len(m.GPUs) != 3 || m.DriverVersion != "550.90.07" || m.NUMANodes() != 4 ||
		len(m.NICs) != 2 || m.CPU.CoresPerL3 != 16 {
		t.Errorf("example decoded as %+v", m)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badField := write("bad-field.yaml", "name: x\ncpu: {coresPerSocket: 4, memoryGiB: 8}\ngpus:\n"+
		"  - {model: a30-pcie-24gb, pciBusID: xyz, pcieRoot: pci0000:00, numaNode: 0, idlePowerWatts: 1, maxPowerWatts: 2}\n")
	badYAML := write("bad-yaml.yaml", "name: [unclosed\n")
	tests := []struct {
		name  string
		arg   string
		wants []string
	}{
		{"unknown name", "nosuchmachine", []string{`unknown machine "nosuchmachine": not a built-in (`, "dgxh100", "nor a readable file"}},
		{"directory", dir, []string{"unknown machine", "is a directory"}},
		{"invalid field", badField, []string{badField, `gpus[0].pciBusID: "xyz" is not a PCI address`}},
		{"malformed YAML", badYAML, []string{badYAML, "decoding machine description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.arg)
			if err == nil {
				t.Fatalf("Load(%q) = nil error", tt.arg)
			}
			msg := err.Error()
			for _, w := range tt.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("Load(%q) = %q, want it to contain %q", tt.arg, msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Load(%q) = %q, want one line", tt.arg, msg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const good = `
name: n
cpu: {coresPerSocket: 4, memoryGiB: 8}
gpus:
  - {model: a30-pcie-24gb, pciBusID: "0000:01:00.0", pcieRoot: "pci0000:00", numaNode: 0, idlePowerWatts: 30, maxPowerWatts: 165}
`
	m, err := Parse([]byte(good))
	if err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
	if m.CPU.Sockets != 1 || m.CPU.NUMANodesPerSocket != 1 || m.CPU.ThreadsPerCore != 1 {
		t.Errorf("defaults not applied: %+v", m.CPU)
	}

	tests := []struct {
		name, doc, want string
	}{
		{"unknown top-level field", good + "colour: blue\n", `unknown field "colour"`},
		{"unknown nested field", strings.Replace(good, "memoryGiB: 8", "memoryGiB: 8, l3MiB: 32", 1), `unknown field "l3MiB"`},
		{"unknown GPU field", strings.Replace(good, "numaNode: 0,", "numaNode: 0, nvlinks: 4,", 1), `unknown field "nvlinks"`},
		{"duplicate key", good + "name: m\n", "already set"},
		{"wrong type", strings.Replace(good, "coresPerSocket: 4", "coresPerSocket: four", 1), "cannot unmarshal"},
		{"empty document", "", "name: is required"},
		{"JSON", `{"name": "j", "cpu": {"coresPerSocket": 2, "memoryGiB": 1}, "gpus": [], "x": 1}`, `unknown field "x"`},
		{"oversized", strings.Repeat("#", maxDescriptionBytes+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantParseError(t, tt.doc, tt.want) })
	}
}

// wantParseError checks that Parse rejects doc with a one-line error
// containing want.
func wantParseError(t *testing.T, doc, want string) {
	t.Helper()
	_, err := Parse([]byte(doc))
	if err == nil {
		t.Fatal("Parse() = nil error")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Parse() = %q, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Parse() = %q, want one line", err)
	}
}

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is valid and usable by the simulation.
func FuzzParse(f *testing.F) {
	for _, name := range Builtin() {
		data, err := builtinFS.ReadFile(builtinDir + "/" + name + builtinExt)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("name: x\ncpu: {sockets: 64, numaNodesPerSocket: 64, coresPerSocket: 64}\n"))
	f.Add([]byte(`{"name": "j", "gpus": [{"pciBusID": "0000:ff:1f.7", "pcieRoot": "pci0000:fe"}]}`))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted a machine that Validate rejects: %v", err)
		}
		// Everything the simulation derives must work on accepted input.
		_ = m.pciTree()
		if _, err := m.NewSimulatedNVML("fuzz"); err != nil {
			t.Fatalf("NewSimulatedNVML on accepted machine: %v", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
