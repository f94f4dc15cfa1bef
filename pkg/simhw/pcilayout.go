package simhw

import (
	"fmt"
	"slices"
	"sort"
)

// rootKey identifies a PCI host bridge by its domain and root bus.
type rootKey struct{ domain, bus uint32 }

// String is the host bridge's sysfs name, "pci0000:15".
func (k rootKey) String() string { return fmt.Sprintf("pci%04x:%02x", k.domain, k.bus) }

func (k rootKey) less(o rootKey) bool {
	if k.domain != o.domain {
		return k.domain < o.domain
	}
	return k.bus < o.bus
}

// devRef names one GPU or NIC entry of a machine description.
type devRef struct {
	nic   bool
	index int
}

func (r devRef) String() string {
	if r.nic {
		return fmt.Sprintf("nics[%d]", r.index)
	}
	return fmt.Sprintf("gpus[%d]", r.index)
}

// field names one of the entry's fields the way FieldError does.
func (r devRef) field(name string) string { return r.String() + "." + name }

// endpoint is a GPU or NIC function placed under its host bridge.
type endpoint struct {
	ref  devRef
	addr pciAddr
	root rootKey
	numa int
	// paired is, for a NIC, the GPU whose PCIe switch it shares; -1
	// otherwise.
	paired int
}

// endpoints lists the GPU and NIC functions of a validated machine, GPUs
// first, each in description order.
func (m *Machine) endpoints() []endpoint {
	var out []endpoint
	for i, g := range m.GPUs {
		a, _ := parseSysfsBusID(g.PCIBusID)
		d, b, _ := parsePCIeRoot(g.PCIeRoot)
		out = append(out, endpoint{ref: devRef{index: i}, addr: a, root: rootKey{d, b}, numa: g.NUMANode, paired: -1})
	}
	for i, n := range m.NICs {
		a, _ := parseSysfsBusID(n.PCIBusID)
		d, b, _ := parsePCIeRoot(n.PCIeRoot)
		out = append(out, endpoint{ref: devRef{nic: true, index: i}, addr: a, root: rootKey{d, b}, numa: n.NUMANode, paired: n.pairedIndex()})
	}
	return out
}

// busGroup is what one root port leads to: a bus of its own, or a GPU's
// bus together with the buses of the NICs paired with that GPU, all
// behind one PCIe switch.
type busGroup struct {
	buses []uint32              // ascending
	devs  map[uint32][]endpoint // the functions on each bus, in description order
	// gpu: the group holds a GPU, which sits behind a switch when the bus
	// numbers leave room for one (DGX/HGX boards) and straight on the
	// root port otherwise (workstations).
	gpu bool
	// paired: the group holds NICs paired with its GPU, so it must have a
	// switch.
	paired bool
	// switched is the decision: the root port leads to a switch whose
	// upstream port is on bus buses[0]-2 and whose downstream ports, one
	// per bus, are on bus buses[0]-1.
	switched bool
}

// owner is the device the group is named after in messages: its GPU if it
// has one.
func (g *busGroup) owner() endpoint {
	for _, b := range g.buses {
		for _, e := range g.devs[b] {
			if !e.ref.nic {
				return e
			}
		}
	}
	return g.devs[g.buses[0]][0]
}

func (g *busGroup) add(bus uint32, e endpoint) {
	if i, found := slices.BinarySearch(g.buses, bus); !found {
		g.buses = slices.Insert(g.buses, i, bus)
	}
	g.devs[bus] = append(g.devs[bus], e)
}

// rootLayout is one host bridge with its groups in bus order: group k is
// behind root port k+1.
type rootLayout struct {
	root   rootKey
	groups []*busGroup
}

// maxDownstreamPorts is how many device numbers a switch's internal bus
// has for its downstream ports.
const maxDownstreamPorts = 32

// layoutPCI arranges endpoints under their host bridges, roots in
// (domain, bus) order, and returns what makes the arrangement impossible
// as field errors. Validate reports those; pciTree lays out validated
// machines, which have none. Every bridge takes bus numbers, so devices
// that share a switch must leave room below them for its two buses, and
// no other device's bus may fall inside a switch's range.
func layoutPCI(eps []endpoint) ([]rootLayout, []*FieldError) {
	var errs []*FieldError
	addf := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	byRoot := map[rootKey][]endpoint{}
	var roots []rootKey
	for _, e := range eps {
		if _, seen := byRoot[e.root]; !seen {
			roots = append(roots, e.root)
		}
		byRoot[e.root] = append(byRoot[e.root], e)
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].less(roots[j]) })

	out := make([]rootLayout, 0, len(roots))
	for _, r := range roots {
		groups := groupRoot(byRoot[r], addf)
		sort.Slice(groups, func(i, j int) bool { return groups[i].buses[0] < groups[j].buses[0] })
		lower := r.bus // the highest bus number taken so far on this root
		var prev *busGroup
		for k, g := range groups {
			lo, hi := g.buses[0], g.buses[len(g.buses)-1]
			if k == maxRootPorts {
				addf(g.owner().ref.field("pcieRoot"), "%q already has %d root ports (one per GPU bus, NIC card or shared switch); a root bus has only %d root-port slots",
					r.String(), maxRootPorts, maxRootPorts)
			}
			if lo <= lower && prev != nil {
				first := prev.buses[0]
				if prev.switched {
					first -= 2
				}
				addf(g.devs[lo][0].ref.field("pciBusID"), "bus %02x lies inside buses %02x-%02x, which the root port of %s takes",
					lo, first, lower, prev.owner().ref)
				continue
			}
			room := lo-lower >= 3
			switch {
			case g.paired && !room:
				below := "host bridge " + r.String()
				if prev != nil {
					below = prev.owner().ref.String()
				}
				nic := firstPaired(g)
				addf(nic.ref.field("pairedGPU"), "the PCIe switch shared with gpus[%d] needs two free bus numbers between bus %02x (%s) and bus %02x for its own ports",
					nic.paired, lower, below, lo)
			case g.paired && len(g.buses) > maxDownstreamPorts:
				addf(firstPaired(g).ref.field("pairedGPU"), "gpus[%d]'s PCIe switch would need %d downstream ports, more than %d",
					firstPaired(g).paired, len(g.buses), maxDownstreamPorts)
			case (g.gpu || g.paired) && room:
				g.switched = true
			}
			lower = hi
			prev = g
		}
		out = append(out, rootLayout{root: r, groups: groups})
	}
	return out, errs
}

// firstPaired returns the group's first NIC paired with its GPU, the one
// its switch problems are reported on.
func firstPaired(g *busGroup) endpoint {
	for _, b := range g.buses {
		for _, e := range g.devs[b] {
			if e.ref.nic && e.paired >= 0 {
				return e
			}
		}
	}
	return g.owner()
}

// groupRoot sorts the endpoints of one host bridge into bus groups. A bus
// holds either GPUs or the functions of one NIC card (the same pairing),
// never both.
func groupRoot(eps []endpoint, addf func(field, format string, args ...any)) []*busGroup {
	var groups []*busGroup
	byBus := map[uint32]*busGroup{}
	gpuBus := map[int]uint32{}
	newGroup := func() *busGroup {
		g := &busGroup{devs: map[uint32][]endpoint{}}
		groups = append(groups, g)
		return g
	}
	// clash reports e on a bus that already holds devices it cannot share
	// a bus with.
	clash := func(e endpoint, g *busGroup) {
		addf(e.ref.field("pciBusID"), "bus %02x already holds %s; a device needs a bus of its own, shared only with the other functions of its card",
			e.addr.Bus, g.devs[e.addr.Bus][0].ref)
	}
	for _, e := range eps {
		if e.ref.nic {
			continue
		}
		g := byBus[e.addr.Bus]
		if g == nil {
			g = newGroup()
			byBus[e.addr.Bus] = g
		}
		g.gpu = true
		g.add(e.addr.Bus, e)
		gpuBus[e.ref.index] = e.addr.Bus
	}
	for _, e := range eps {
		if !e.ref.nic {
			continue
		}
		// The group of the paired GPU, if it hangs under this root (when
		// not, Validate reports the pairing).
		var target *busGroup
		if b, ok := gpuBus[e.paired]; ok {
			target = byBus[b]
		}
		if g := byBus[e.addr.Bus]; g != nil {
			// Another function of the same card (same pairing), or a clash.
			other := g.devs[e.addr.Bus][0]
			if !other.ref.nic || other.paired != e.paired {
				clash(e, g)
				continue
			}
			g.add(e.addr.Bus, e)
			continue
		}
		if target == nil {
			target = newGroup()
		} else {
			target.paired = true
		}
		byBus[e.addr.Bus] = target
		target.add(e.addr.Bus, e)
	}
	return groups
}
