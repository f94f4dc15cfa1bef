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
	maxNICs           = 256
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
	// numaDone lists the devices whose NUMA node was already reported, so
	// that one mistake is not reported again as splitting a root complex.
	numaDone map[devRef]bool
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
	v := &validator{numaDone: map[devRef]bool{}}
	v.machine(m)
	before := len(v.errs)
	v.cpu(&m.CPU)
	cpuOK := len(v.errs) == before
	v.l3(&m.CPU, cpuOK)
	v.packagePower(&m.CPU)
	seen := map[pciAddr]devRef{}
	placed := v.gpus(m, cpuOK, seen)
	placed = append(placed, v.nics(m, cpuOK, seen)...)
	v.rootConsistency(placed)
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

// l3 checks the L3 grouping, which the NUMA checks do not depend on.
func (v *validator) l3(c *CPUTopology, cpuOK bool) {
	switch {
	case c.CoresPerL3 < 0:
		v.addf("cpu.coresPerL3", "%d is negative", c.CoresPerL3)
	case c.CoresPerL3 > 0 && cpuOK && c.coresPerNode()%c.CoresPerL3 != 0:
		// L3 groups are contiguous cores inside a NUMA node, as on the
		// modelled Xeon and EPYC parts; a group spanning nodes or a
		// partial group would be neither.
		v.addf("cpu.coresPerL3", "%d does not divide the %d cores of a NUMA node",
			c.CoresPerL3, c.coresPerNode())
	}
}

// packagePower checks the optional per-package power model.
func (v *validator) packagePower(c *CPUTopology) {
	switch {
	case c.PackageIdleWatts < 0 || c.PackageMaxWatts < 0 || c.PackageMaxWatts > maxPowerWatts:
		v.addf("cpu.packageMaxWatts", "package power idle %d W / max %d W is out of range [0, %d]", c.PackageIdleWatts, c.PackageMaxWatts, maxPowerWatts)
	case c.PackageIdleWatts > c.PackageMaxWatts:
		v.addf("cpu.packageIdleWatts", "%d is above packageMaxWatts %d", c.PackageIdleWatts, c.PackageMaxWatts)
	}
}

func (v *validator) gpus(m *Machine, cpuOK bool, seen map[pciAddr]devRef) []endpoint {
	if len(m.GPUs) > maxGPUs {
		v.addf("gpus", "has %d entries, more than %d", len(m.GPUs), maxGPUs)
		return nil
	}
	var placed []endpoint
	for i, g := range m.GPUs {
		ref := devRef{index: i}
		v.gpuModel(m, i, ref.field("model"))
		if e, ok := v.place(ref, g.PCIBusID, g.PCIeRoot, seen); ok {
			e.numa, e.paired = g.NUMANode, -1
			placed = append(placed, e)
		}
		v.numaNode(m, ref, g.NUMANode, cpuOK)

		if g.MaxPowerWatts < 1 || g.MaxPowerWatts > maxPowerWatts {
			v.addf(ref.field("maxPowerWatts"), "%d is out of range [1, %d]", g.MaxPowerWatts, maxPowerWatts)
		}
		if g.IdlePowerWatts < 0 {
			v.addf(ref.field("idlePowerWatts"), "%d is negative", g.IdlePowerWatts)
		} else if g.IdlePowerWatts > g.MaxPowerWatts {
			v.addf(ref.field("idlePowerWatts"), "%d is above maxPowerWatts %d", g.IdlePowerWatts, g.MaxPowerWatts)
		}
	}
	return placed
}

// place checks a device's PCI address and host bridge, and returns where it
// sits when both are usable. seen holds the addresses taken so far, by GPUs
// and NICs alike.
func (v *validator) place(ref devRef, busID, root string, seen map[pciAddr]devRef) (endpoint, bool) {
	addr, addrOK := parseSysfsBusID(busID)
	if !addrOK {
		v.addf(ref.field("pciBusID"), "%q is not a PCI address (want 0000:18:00.0, lower-case hex)", busID)
	} else if prev, dup := seen[addr]; dup {
		v.addf(ref.field("pciBusID"), "%q duplicates %s", busID, prev.field("pciBusID"))
		addrOK = false
	} else {
		seen[addr] = ref
	}
	rootDomain, rootBus, rootOK := parsePCIeRoot(root)
	if !rootOK {
		v.addf(ref.field("pcieRoot"), "%q is not a PCI host bridge name (want pci0000:15)", root)
	}
	if !addrOK || !rootOK {
		return endpoint{}, false
	}
	switch {
	case addr.Domain != rootDomain:
		v.addf(ref.field("pcieRoot"), "%q is in PCI domain %04x but pciBusID %q is in domain %04x",
			root, rootDomain, busID, addr.Domain)
	case addr.Bus <= rootBus:
		// The device sits behind a root port, hence on a bus that the host
		// bridge numbers after its own.
		v.addf(ref.field("pciBusID"), "bus %02x is not behind pcieRoot %q (want a bus above %02x)",
			addr.Bus, root, rootBus)
	default:
		return endpoint{ref: ref, addr: addr, root: rootKey{rootDomain, rootBus}}, true
	}
	return endpoint{}, false
}

// numaNode checks a device's NUMA node against the CPU topology (when that
// is valid, so that one mistake is not reported twice).
func (v *validator) numaNode(m *Machine, ref devRef, node int, cpuOK bool) {
	switch {
	case node < 0:
		v.addf(ref.field("numaNode"), "%d is negative", node)
	case cpuOK && node >= m.NUMANodes():
		v.addf(ref.field("numaNode"), "%d is out of range: the CPU topology has %d NUMA nodes (0-%d)",
			node, m.NUMANodes(), m.NUMANodes()-1)
	default:
		return
	}
	v.numaDone[ref] = true
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

// rootConsistency checks what only makes sense across devices: a root
// complex belongs to one NUMA node, host bridges of one domain own disjoint
// bus ranges (each from its own bus up to the next bridge's), and the
// bridges of each root fit its buses (layoutPCI).
func (v *validator) rootConsistency(placed []endpoint) {
	rootFirst := map[rootKey]endpoint{} // root -> first device seen under it
	rootsByDomain := map[uint32][]uint32{}
	for _, p := range placed {
		if first, ok := rootFirst[p.root]; ok {
			if p.numa != first.numa && !v.numaDone[p.ref] && !v.numaDone[first.ref] {
				v.addf(p.ref.field("numaNode"),
					"%d differs from %s %d although both hang under pcieRoot %q (a root complex belongs to one NUMA node)",
					p.numa, first.ref.field("numaNode"), first.numa, p.root)
			}
			continue
		}
		rootFirst[p.root] = p
		rootsByDomain[p.root.domain] = append(rootsByDomain[p.root.domain], p.root.bus)
	}
	for d := range rootsByDomain {
		sort.Slice(rootsByDomain[d], func(i, j int) bool { return rootsByDomain[d][i] < rootsByDomain[d][j] })
	}
	var inRange []endpoint
	for _, p := range placed {
		ok := true
		for _, other := range rootsByDomain[p.root.domain] {
			if other > p.root.bus && p.addr.Bus >= other {
				v.addf(p.ref.field("pciBusID"), "bus %02x belongs to host bridge %s, not to pcieRoot %q",
					p.addr.Bus, rootKey{p.root.domain, other}, p.root)
				ok = false
				break
			}
		}
		if ok {
			inRange = append(inRange, p)
		}
	}
	_, errs := layoutPCI(inRange)
	v.errs = append(v.errs, errs...)
}
