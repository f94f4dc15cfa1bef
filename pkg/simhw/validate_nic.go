package simhw

import (
	"math"
	"regexp"
	"strings"
)

// ifnamePattern is what the netdev names accept here: the kernel's limit
// of 15 bytes (IFNAMSIZ less the NUL) and the characters predictable
// names (ibp24s0, enp170s0f0np0) and classic ones (eth0, ib0.8001) use, so
// that a name is always a safe single path element under sys/class/net.
var ifnamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`)

// reservedIfnames are names sys/class/net already uses for other things.
var reservedIfnames = map[string]bool{"lo": true, "bonding_masters": true}

// nics checks the NIC entries and returns those placed under their host
// bridge, for the cross-device checks.
func (v *validator) nics(m *Machine, cpuOK bool, seen map[pciAddr]devRef) []endpoint {
	if len(m.NICs) > maxNICs {
		v.addf("nics", "has %d entries, more than %d", len(m.NICs), maxNICs)
		return nil
	}
	var placed []endpoint
	ifnames := map[string]int{}
	type cardKey struct{ domain, bus, device uint32 }
	cards := map[cardKey]int{} // first NIC seen on each card
	for i := range m.NICs {
		n := &m.NICs[i]
		ref := devRef{nic: true, index: i}
		model, modelOK := v.nicModel(ref, n.Model)
		e, placedOK := v.place(ref, n.PCIBusID, n.PCIeRoot, seen)
		if placedOK {
			e.numa, e.paired = n.NUMANode, n.pairedIndex()
			placed = append(placed, e)
			k := cardKey{e.addr.Domain, e.addr.Bus, e.addr.Device}
			if first, ok := cards[k]; !ok {
				cards[k] = i
			} else if f := m.NICs[first]; modelOK && f.Model != n.Model {
				v.addf(ref.field("model"), "%q differs from nics[%d].model %q, another function of the same card",
					n.Model, first, f.Model)
			}
		}
		v.numaNode(m, ref, n.NUMANode, cpuOK)
		v.ifname(ref, n.Interface, ifnames)
		v.linkLayer(ref, n, model, modelOK)
		v.speed(ref, n, model, modelOK)
		v.pairing(m, ref, n)
	}
	return placed
}

func (v *validator) nicModel(ref devRef, name string) (nicModel, bool) {
	if name == "" {
		v.addf(ref.field("model"), "is required (want one of %s)", strings.Join(NICModels(), ", "))
		return nicModel{}, false
	}
	model, ok := nicModels[name]
	if !ok {
		v.addf(ref.field("model"), "%q is not a known NIC model (want one of %s)", name, strings.Join(NICModels(), ", "))
	}
	return model, ok
}

func (v *validator) ifname(ref devRef, name string, seen map[string]int) {
	switch {
	case name == "":
		v.addf(ref.field("interface"), "is required (the netdev name, e.g. ibp24s0)")
	case !ifnamePattern.MatchString(name):
		v.addf(ref.field("interface"), "%q is not a network interface name (want at most 15 letters, digits, '_', '.' or '-', not starting with a punctuation mark)", name)
	case reservedIfnames[name]:
		v.addf(ref.field("interface"), "%q is reserved", name)
	default:
		if prev, dup := seen[name]; dup {
			v.addf(ref.field("interface"), "%q duplicates nics[%d].interface", name, prev)
			return
		}
		seen[name] = ref.index
	}
}

func (v *validator) linkLayer(ref devRef, n *NIC, model nicModel, modelOK bool) {
	switch n.LinkLayer {
	case "", linkLayerNone:
	case linkLayerInfiniBand, linkLayerEthernet:
		switch {
		case modelOK && !model.rdma:
			v.addf(ref.field("linkLayer"), "%q needs RDMA, which %s does not have (want %s)", n.LinkLayer, n.Model, linkLayerNone)
		case modelOK && n.LinkLayer == linkLayerInfiniBand && !model.infiniBand:
			v.addf(ref.field("linkLayer"), "%q is not a link layer %s supports", n.LinkLayer, n.Model)
		}
	default:
		v.addf(ref.field("linkLayer"), "%q is not a link layer (want %s, %s, or %s for a NIC without RDMA)",
			n.LinkLayer, linkLayerInfiniBand, linkLayerEthernet, linkLayerNone)
	}
}

func (v *validator) speed(ref devRef, n *NIC, model nicModel, modelOK bool) {
	s := n.SpeedGbps
	switch {
	case math.IsNaN(s) || s <= 0:
		v.addf(ref.field("speedGbps"), "%v is not a positive speed", s)
	case modelOK && s > model.maxGbps:
		v.addf(ref.field("speedGbps"), "%v is above %s's %v Gb/s", s, n.Model, model.maxGbps)
	case s > 1e6:
		// Only reachable without a known model; keeps Mb/s within int64.
		v.addf(ref.field("speedGbps"), "%v is out of range (0, 1000000]", s)
	case math.Abs(s*1000-math.Round(s*1000)) > 1e-6:
		// sysfs reports the speed in whole Mb/s.
		v.addf(ref.field("speedGbps"), "%v is not a whole number of Mb/s", s)
	case n.rdma():
		if _, ok := rdmaRate(s); !ok {
			v.addf(ref.field("speedGbps"), "%v is not an InfiniBand/RoCE link rate (want e.g. 100, 200 or 400)", s)
		}
	}
}

// pairing checks pairedGPU: the GPU exists and shares the NIC's host bridge
// and NUMA node, as devices behind one PCIe switch do.
func (v *validator) pairing(m *Machine, ref devRef, n *NIC) {
	if n.PairedGPU == nil {
		return
	}
	g := *n.PairedGPU
	if g < 0 || g >= len(m.GPUs) {
		v.addf(ref.field("pairedGPU"), "%d is not a GPU index (the machine has %d GPUs)", g, len(m.GPUs))
		return
	}
	gpu := m.GPUs[g]
	if n.PCIeRoot != gpu.PCIeRoot {
		v.addf(ref.field("pcieRoot"), "%q differs from gpus[%d].pcieRoot %q, the GPU it is paired with (a PCIe switch hangs under one host bridge)",
			n.PCIeRoot, g, gpu.PCIeRoot)
	}
	if n.NUMANode != gpu.NUMANode && !v.numaDone[ref] {
		v.addf(ref.field("numaNode"), "%d differs from gpus[%d].numaNode %d, the GPU it is paired with",
			n.NUMANode, g, gpu.NUMANode)
		v.numaDone[ref] = true
	}
}
