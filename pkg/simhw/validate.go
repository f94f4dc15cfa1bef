package simhw

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Limits keep a description within what real servers have, and keep a bad
// or hostile file from making WriteSysfs create millions of files.
const (
	maxSockets        = 64
	maxNodesPerSocket = 64
	maxNUMANodes      = 1024 // the largest node number deviceattribute accepts, plus one
	maxCoresPerSocket = 1024
	maxThreadsPerCore = 8
	maxCPUs           = 8192 // the largest NR_CPUS distributions build x86 kernels with
	maxMemoryGiB      = 1 << 22
	maxGPUs           = 256
	maxPowerWatts     = 100000
	maxNameLen        = 253 // a Kubernetes node name is a DNS subdomain
	maxRootPorts      = 31  // device numbers 1..31 on the root bus
)

var driverVersionPattern = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,4}){1,3}$`)

// FieldError is one problem with one field of a machine description. Field
// uses the JSON names, e.g. "gpus[2].pciBusID", so that it points straight
// at the offending line of the YAML file.
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

// ValidationError lists every problem found by Validate, so that a user
// fixing a file sees them all at once rather than one per attempt.
type ValidationError struct {
	Errors []*FieldError
}

// Error joins the problems on one line, because callers log it as one.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

type validator struct {
	errs []*FieldError
}

func (v *validator) addf(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Validate checks the description for everything the simulation relies on
// and returns a *ValidationError naming each bad field, or nil.
func (m *Machine) Validate() error {
	if m == nil {
		return &ValidationError{Errors: []*FieldError{{Field: "machine", Detail: "is nil"}}}
	}
	v := &validator{}
	v.machine(m)
	before := len(v.errs)
	v.cpu(&m.CPU)
	cpuOK := len(v.errs) == before
	v.gpus(m, cpuOK)
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: v.errs}
}

func (v *validator) machine(m *Machine) {
	switch {
	case m.Name == "":
		v.addf("name", "is required")
	case len(m.Name) > maxNameLen:
		v.addf("name", "is %d characters long, more than %d", len(m.Name), maxNameLen)
	case strings.ContainsFunc(m.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		v.addf("name", "%q contains control characters", m.Name)
	}
	if m.Base != "" {
		if _, ok := baseModels[m.Base]; !ok {
			v.addf("base", "%q is not a known base (want one of %s, or empty to compose GPUs from gpus[].model)",
				m.Base, strings.Join(Bases(), ", "))
		}
	}
	if m.DriverVersion != "" && !driverVersionPattern.MatchString(m.DriverVersion) {
		v.addf("driverVersion", "%q is not a driver version (want e.g. 550.54.15)", m.DriverVersion)
	}
}

func (v *validator) cpu(c *CPUTopology) {
	// Every CPU topology count is at least 1.
	inRange := func(field string, val, hi int) bool {
		const lo = 1
		if val < lo || val > hi {
			v.addf(field, "%d is out of range [%d, %d]", val, lo, hi)
			return false
		}
		return true
	}
	sockOK := inRange("cpu.sockets", c.Sockets, maxSockets)
	npsOK := inRange("cpu.numaNodesPerSocket", c.NUMANodesPerSocket, maxNodesPerSocket)
	coresOK := inRange("cpu.coresPerSocket", c.CoresPerSocket, maxCoresPerSocket)
	tpcOK := inRange("cpu.threadsPerCore", c.ThreadsPerCore, maxThreadsPerCore)
	inRange("cpu.memoryGiB", c.MemoryGiB, maxMemoryGiB)
	if npsOK && coresOK && c.CoresPerSocket%c.NUMANodesPerSocket != 0 {
		// Cores are numbered contiguously per NUMA node; an uneven split
		// would give nodes different sizes, which no modelled server has.
		v.addf("cpu.coresPerSocket", "%d cannot be split evenly over %d NUMA nodes per socket",
			c.CoresPerSocket, c.NUMANodesPerSocket)
	}
	if sockOK && npsOK && c.Sockets*c.NUMANodesPerSocket > maxNUMANodes {
		v.addf("cpu.numaNodesPerSocket", "%d sockets x %d nodes is more than %d NUMA nodes",
			c.Sockets, c.NUMANodesPerSocket, maxNUMANodes)
	}
	if sockOK && coresOK && tpcOK && c.cpus() > maxCPUs {
		v.addf("cpu.threadsPerCore", "%d sockets x %d cores x %d threads is more than %d logical CPUs",
			c.Sockets, c.CoresPerSocket, c.ThreadsPerCore, maxCPUs)
	}
}

// gpuPlace is a GPU's parsed position, kept for the cross-GPU checks.
type gpuPlace struct {
	index      int
	addr       pciAddr
	rootDomain uint32
	rootBus    uint32
}

func (v *validator) gpus(m *Machine, cpuOK bool) {
	if len(m.GPUs) > maxGPUs {
		v.addf("gpus", "has %d entries, more than %d", len(m.GPUs), maxGPUs)
		return
	}
	seenBus := map[pciAddr]int{}
	var placed []gpuPlace
	for i, g := range m.GPUs {
		f := func(name string) string { return fmt.Sprintf("gpus[%d].%s", i, name) }
		v.gpuModel(m, i, f("model"))

		addr, addrOK := parseSysfsBusID(g.PCIBusID)
		if !addrOK {
			v.addf(f("pciBusID"), "%q is not a PCI address (want 0000:18:00.0, lower-case hex)", g.PCIBusID)
		} else if prev, dup := seenBus[addr]; dup {
			v.addf(f("pciBusID"), "%q duplicates gpus[%d].pciBusID", g.PCIBusID, prev)
			addrOK = false
		} else {
			seenBus[addr] = i
		}
		rootDomain, rootBus, rootOK := parsePCIeRoot(g.PCIeRoot)
		if !rootOK {
			v.addf(f("pcieRoot"), "%q is not a PCI host bridge name (want pci0000:15)", g.PCIeRoot)
		}
		if addrOK && rootOK {
			switch {
			case addr.Domain != rootDomain:
				v.addf(f("pcieRoot"), "%q is in PCI domain %04x but pciBusID %q is in domain %04x",
					g.PCIeRoot, rootDomain, g.PCIBusID, addr.Domain)
			case addr.Bus <= rootBus:
				// The GPU sits behind a root port, hence on a bus that the
				// host bridge numbers after its own.
				v.addf(f("pciBusID"), "bus %02x is not behind pcieRoot %q (want a bus above %02x)",
					addr.Bus, g.PCIeRoot, rootBus)
			default:
				placed = append(placed, gpuPlace{index: i, addr: addr, rootDomain: rootDomain, rootBus: rootBus})
			}
		}

		if g.NUMANode < 0 {
			v.addf(f("numaNode"), "%d is negative", g.NUMANode)
		} else if cpuOK && g.NUMANode >= m.NUMANodes() {
			v.addf(f("numaNode"), "%d is out of range: the CPU topology has %d NUMA nodes (0-%d)",
				g.NUMANode, m.NUMANodes(), m.NUMANodes()-1)
		}

		if g.MaxPowerWatts < 1 || g.MaxPowerWatts > maxPowerWatts {
			v.addf(f("maxPowerWatts"), "%d is out of range [1, %d]", g.MaxPowerWatts, maxPowerWatts)
		}
		if g.IdlePowerWatts < 0 {
			v.addf(f("idlePowerWatts"), "%d is negative", g.IdlePowerWatts)
		} else if g.IdlePowerWatts > g.MaxPowerWatts {
			v.addf(f("idlePowerWatts"), "%d is above maxPowerWatts %d", g.IdlePowerWatts, g.MaxPowerWatts)
		}
	}
	v.rootConsistency(m, placed)
}

func (v *validator) gpuModel(m *Machine, i int, field string) {
	model := m.GPUs[i].Model
	if m.Base == "" {
		if model == "" {
			v.addf(field, "is required when base is empty (want one of %s)", strings.Join(Models(), ", "))
			return
		}
		if _, ok := models[model]; !ok {
			v.addf(field, "%q is not a known GPU model (want one of %s)", model, strings.Join(Models(), ", "))
		}
		return
	}
	want, ok := baseModels[m.Base]
	if ok && model != "" && model != want {
		v.addf(field, "%q conflicts with base %q, whose GPUs are %q (leave it empty)", model, m.Base, want)
	}
}

// rootConsistency checks what only makes sense across GPUs: a root complex
// belongs to one NUMA node, host bridges of one domain own disjoint bus
// ranges (each from its own bus up to the next bridge's), and a root bus has
// only so many root-port slots.
func (v *validator) rootConsistency(m *Machine, placed []gpuPlace) {
	type rootKey struct{ domain, bus uint32 }
	rootNode := map[rootKey]int{} // root -> first GPU index seen under it
	rootsByDomain := map[uint32][]uint32{}
	for _, p := range placed {
		k := rootKey{p.rootDomain, p.rootBus}
		if first, ok := rootNode[k]; ok {
			if m.GPUs[p.index].NUMANode != m.GPUs[first].NUMANode {
				v.addf(fmt.Sprintf("gpus[%d].numaNode", p.index),
					"%d differs from gpus[%d].numaNode %d although both hang under pcieRoot %q (a root complex belongs to one NUMA node)",
					m.GPUs[p.index].NUMANode, first, m.GPUs[first].NUMANode, m.GPUs[p.index].PCIeRoot)
			}
			continue
		}
		rootNode[k] = p.index
		rootsByDomain[p.rootDomain] = append(rootsByDomain[p.rootDomain], p.rootBus)
	}
	for d := range rootsByDomain {
		sort.Slice(rootsByDomain[d], func(i, j int) bool { return rootsByDomain[d][i] < rootsByDomain[d][j] })
	}
	buses := map[rootKey]map[uint32]bool{}
	for _, p := range placed {
		k := rootKey{p.rootDomain, p.rootBus}
		for _, other := range rootsByDomain[p.rootDomain] {
			if other > p.rootBus && p.addr.Bus >= other {
				v.addf(fmt.Sprintf("gpus[%d].pciBusID", p.index),
					"bus %02x belongs to host bridge pci%04x:%02x, not to pcieRoot %q",
					p.addr.Bus, p.rootDomain, other, m.GPUs[p.index].PCIeRoot)
				break
			}
		}
		if buses[k] == nil {
			buses[k] = map[uint32]bool{}
		}
		buses[k][p.addr.Bus] = true
		if len(buses[k]) == maxRootPorts+1 {
			v.addf(fmt.Sprintf("gpus[%d].pcieRoot", p.index),
				"%q already has GPUs on %d buses; a root bus has only %d root-port slots",
				m.GPUs[p.index].PCIeRoot, maxRootPorts, maxRootPorts)
		}
	}
}
