package simhw

import "fmt"

// PCI identifiers written to sysfs. GPUs use NVIDIA's vendor ID and the
// mock's device ID, NICs those of their model (nicModels); the bridges use
// class 0x0604 (PCI-to-PCI bridge) with the CPU vendor for root ports and
// Broadcom (the PEX switches on DGX and HGX boards) for switch ports.
// Bridge device IDs are not modelled.
const (
	vendorNVIDIA   = 0x10de
	vendorIntel    = 0x8086
	vendorAMD      = 0x1022
	vendorBroadcom = 0x1000
	classGPU       = 0x030200 // 3D controller: what datacenter GPUs report
	classBridge    = 0x060400
	// gpuRevision is the revision lspci shows for current NVIDIA GPUs.
	gpuRevision = 0xa1
)

// pciFunction is one PCI function to write: where it sits in the device
// tree and what it reports.
type pciFunction struct {
	addr        pciAddr
	dir         string // relative to root, e.g. sys/devices/pci0000:15/0000:15:01.0
	vendor      uint16
	device      uint16
	class       uint32
	numaNode    int
	secondary   uint32 // bridges only: the bus behind the bridge
	subordinate uint32 // bridges only: the highest bus behind the bridge
	gpu         int    // GPU index, -1 for others
	nic         int    // NIC index, -1 for others
}

// pciTree lays out every GPU and NIC under its host bridge (layoutPCI).
// Each group of buses gets its own root port (device 1, 2, ... on the root
// bus). A switched group has a PCIe switch behind its root port, as on
// DGX/HGX boards, where a GPU and its GPUDirect NIC share one: the
// upstream port on the bus two below the group's lowest, and one
// downstream port per device bus, in bus order, on the bus in between.
// Other groups sit straight on the root port, as in workstations. Validate
// guarantees the buses leave room for the bridges.
func (m *Machine) pciTree() []pciFunction {
	layouts, _ := layoutPCI(m.endpoints())
	rootPortVendor := uint16(vendorIntel)
	if m.CPU.cpuVendor() == "AuthenticAMD" {
		rootPortVendor = vendorAMD
	}
	var out []pciFunction
	for _, rl := range layouts {
		rootDir := "sys/devices/" + rl.root.String()
		for port, g := range rl.groups {
			lo, hi := g.buses[0], g.buses[len(g.buses)-1]
			node := g.devs[lo][0].numa
			bridge := func(addr pciAddr, vendor uint16, parent string) pciFunction {
				f := pciFunction{addr: addr, vendor: vendor, class: classBridge, numaNode: node, gpu: -1, nic: -1}
				f.dir = parent + "/" + addr.sysfs()
				return f
			}
			rp := bridge(pciAddr{Domain: rl.root.domain, Bus: rl.root.bus, Device: uint32(port + 1)}, rootPortVendor, rootDir)
			rp.secondary, rp.subordinate = lo, hi
			parents := map[uint32]string{}
			if g.switched {
				up := bridge(pciAddr{Domain: rl.root.domain, Bus: lo - 2}, vendorBroadcom, rp.dir)
				up.device, up.secondary, up.subordinate = 0xc030, lo-1, hi
				rp.secondary = up.addr.Bus
				out = append(out, rp, up)
				for k, bus := range g.buses {
					down := bridge(pciAddr{Domain: rl.root.domain, Bus: lo - 1, Device: uint32(k)}, vendorBroadcom, up.dir)
					down.device, down.secondary, down.subordinate = 0xc030, bus, bus
					out = append(out, down)
					parents[bus] = down.dir
				}
			} else {
				out = append(out, rp)
				for _, bus := range g.buses {
					parents[bus] = rp.dir
				}
			}
			for _, bus := range g.buses {
				for _, e := range g.devs[bus] {
					f := m.endpointFunction(e)
					f.dir = parents[bus] + "/" + f.addr.sysfs()
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// endpointFunction returns what a GPU or NIC function reports, less its
// place in the tree.
func (m *Machine) endpointFunction(e endpoint) pciFunction {
	f := pciFunction{addr: e.addr, numaNode: e.numa, gpu: -1, nic: -1}
	if e.ref.nic {
		n := &m.NICs[e.ref.index]
		model := nicModels[n.Model]
		f.vendor, f.device, f.class, f.nic = model.vendor, model.device, n.class(), e.ref.index
		return f
	}
	f.vendor, f.device, f.class, f.gpu = vendorNVIDIA, uint16(nvmlConfig(m.modelOf(e.ref.index)).PciDeviceId>>16), classGPU, e.ref.index
	return f
}

func (m *Machine) writePCI(w *treeWriter) error {
	nbits := m.CPU.cpus()
	rdma := m.rdmaIndices()
	for _, f := range m.pciTree() {
		if err := m.writePCIFunction(w, f, nbits); err != nil {
			return fmt.Errorf("%s: %w", f.addr.sysfs(), err)
		}
		if f.nic >= 0 {
			if err := m.writeNIC(w, f, rdma[f.nic]); err != nil {
				return fmt.Errorf("%s: %w", f.addr.sysfs(), err)
			}
		}
	}
	if err := m.writeRDMAClasses(w); err != nil {
		return err
	}
	// The driver directory exists even with no GPU, as when the module is
	// loaded.
	return w.dir("sys/bus/pci/drivers/nvidia")
}

func (m *Machine) writePCIFunction(w *treeWriter, f pciFunction, nbits int) error {
	cpus := m.CPU.nodeCPUs(f.numaNode)
	subVendor, subDevice := uint16(0), uint16(0)
	if f.gpu >= 0 || f.nic >= 0 {
		// Board subsystem IDs vary by OEM and are not modelled; the
		// chip vendor's ID with a zero subsystem keeps the modalias
		// well-formed.
		subVendor = f.vendor
	}
	files := []attr{
		{"vendor", fmt.Sprintf("0x%04x", f.vendor)},
		{"device", fmt.Sprintf("0x%04x", f.device)},
		{"subsystem_vendor", fmt.Sprintf("0x%04x", subVendor)},
		{"subsystem_device", fmt.Sprintf("0x%04x", subDevice)},
		{"class", fmt.Sprintf("0x%06x", f.class)},
		{"numa_node", fmt.Sprint(f.numaNode)},
		{"local_cpulist", cpuList(cpus)},
		{"local_cpus", cpuMask(cpus, nbits)},
		{"enable", "1"},
		// ghw decodes the device from modalias alone.
		{"modalias", fmt.Sprintf("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
			f.vendor, f.device, subVendor, subDevice, f.class>>16, (f.class>>8)&0xff, f.class&0xff)},
	}
	switch {
	case f.gpu >= 0:
		files = append(files, attr{"revision", fmt.Sprintf("0x%02x", gpuRevision)})
		files = append(files, linkFiles(models[m.modelOf(f.gpu)].pcieGen, 16)...)
	case f.nic >= 0:
		model := nicModels[m.NICs[f.nic].Model]
		files = append(files, attr{"revision", "0x00"})
		files = append(files, linkFiles(model.pcieGen, model.pcieWidth)...)
	default:
		files = append(files,
			attr{"secondary_bus_number", fmt.Sprint(f.secondary)},
			attr{"subordinate_bus_number", fmt.Sprint(f.subordinate)},
		)
	}
	if err := w.attrs(f.dir, files); err != nil {
		return err
	}
	id := f.addr.sysfs()
	// The bus links, both ways: ghw checks a network device's function
	// through its subsystem link.
	links := []symlink{
		{"sys/bus/pci/devices/" + id, f.dir},
		{f.dir + "/subsystem", "sys/bus/pci"},
	}
	if f.gpu >= 0 {
		// Bound to the nvidia driver, and visible as a DRM card, as with
		// nvidia-drm loaded: ghw finds GPUs through /sys/class/drm.
		card := fmt.Sprintf("card%d", f.gpu)
		links = append(links, []symlink{
			{f.dir + "/driver", "sys/bus/pci/drivers/nvidia"},
			{"sys/bus/pci/drivers/nvidia/" + id, f.dir},
			{f.dir + "/drm/" + card + "/device", f.dir},
			{"sys/class/drm/" + card, f.dir + "/drm/" + card},
		}...)
	}
	return w.links(links)
}

// linkFiles are an endpoint's PCIe link attributes, trained at the
// maximum.
func linkFiles(gen, width int) []attr {
	speed := linkSpeed(gen)
	return []attr{
		{"current_link_speed", speed},
		{"max_link_speed", speed},
		{"current_link_width", fmt.Sprint(width)},
		{"max_link_width", fmt.Sprint(width)},
	}
}

// linkSpeed is the sysfs current_link_speed text of a PCIe generation.
func linkSpeed(gen int) string {
	switch gen {
	case 1:
		return "2.5 GT/s PCIe"
	case 2:
		return "5.0 GT/s PCIe"
	case 3:
		return "8.0 GT/s PCIe"
	case 4:
		return "16.0 GT/s PCIe"
	case 5:
		return "32.0 GT/s PCIe"
	case 6:
		return "64.0 GT/s PCIe"
	default:
		return "Unknown"
	}
}
