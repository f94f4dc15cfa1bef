package simhw

import (
	"fmt"
	"sort"
)

// PCI identifiers written to sysfs. GPUs use NVIDIA's vendor ID and the
// mock's device ID; the bridges use class 0x0604 (PCI-to-PCI bridge) with
// the CPU vendor for root ports and Broadcom (the PEX switches on DGX and
// HGX boards) for switch ports. Bridge device IDs are not modelled.
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
	gpu         int    // GPU index, -1 for bridges
}

// pciTree lays out every GPU under its host bridge. Each distinct GPU bus
// gets its own root port (device 1, 2, ... on the root bus). When at least
// two unused bus numbers lie between the previous bus taken on that root
// and the GPU's bus, a PCIe switch (upstream and downstream port, one bus
// each) is placed in between, as on DGX/HGX boards; otherwise the GPU sits
// directly on the root port, as in workstations. Validate guarantees the
// GPU buses lie inside their root's range, so bridges never collide.
func (m *Machine) pciTree() []pciFunction {
	type rootKey struct{ domain, bus uint32 }
	byRoot := map[rootKey][]int{}
	var roots []rootKey
	for i, g := range m.GPUs {
		d, b, _ := parsePCIeRoot(g.PCIeRoot)
		k := rootKey{d, b}
		if _, seen := byRoot[k]; !seen {
			roots = append(roots, k)
		}
		byRoot[k] = append(byRoot[k], i)
	}
	sort.Slice(roots, func(i, j int) bool {
		if roots[i].domain != roots[j].domain {
			return roots[i].domain < roots[j].domain
		}
		return roots[i].bus < roots[j].bus
	})

	rootPortVendor := uint16(vendorIntel)
	if m.CPU.cpuVendor() == "AuthenticAMD" {
		rootPortVendor = vendorAMD
	}
	var out []pciFunction
	for _, r := range roots {
		// GPUs of this root, grouped by bus in ascending bus order.
		addrs := map[int]pciAddr{}
		busGPUs := map[uint32][]int{}
		var buses []uint32
		for _, i := range byRoot[r] {
			a, _ := parseSysfsBusID(m.GPUs[i].PCIBusID)
			addrs[i] = a
			if _, seen := busGPUs[a.Bus]; !seen {
				buses = append(buses, a.Bus)
			}
			busGPUs[a.Bus] = append(busGPUs[a.Bus], i)
		}
		sort.Slice(buses, func(i, j int) bool { return buses[i] < buses[j] })

		rootDir := fmt.Sprintf("sys/devices/pci%04x:%02x", r.domain, r.bus)
		lower := r.bus
		for port, bus := range buses {
			node := m.GPUs[busGPUs[bus][0]].NUMANode
			rp := pciFunction{
				addr:   pciAddr{Domain: r.domain, Bus: r.bus, Device: uint32(port + 1)},
				vendor: rootPortVendor, class: classBridge, numaNode: node,
				subordinate: bus, gpu: -1,
			}
			rp.dir = rootDir + "/" + rp.addr.sysfs()
			parent := rp.dir
			if bus-lower >= 3 {
				up := pciFunction{
					addr:   pciAddr{Domain: r.domain, Bus: bus - 2},
					vendor: vendorBroadcom, device: 0xc030, class: classBridge, numaNode: node,
					secondary: bus - 1, subordinate: bus, gpu: -1,
				}
				up.dir = rp.dir + "/" + up.addr.sysfs()
				down := pciFunction{
					addr:   pciAddr{Domain: r.domain, Bus: bus - 1},
					vendor: vendorBroadcom, device: 0xc030, class: classBridge, numaNode: node,
					secondary: bus, subordinate: bus, gpu: -1,
				}
				down.dir = up.dir + "/" + down.addr.sysfs()
				rp.secondary = up.addr.Bus
				out = append(out, rp, up, down)
				parent = down.dir
			} else {
				rp.secondary = bus
				out = append(out, rp)
			}
			for _, i := range busGPUs[bus] {
				g := pciFunction{
					addr:   addrs[i],
					vendor: vendorNVIDIA, device: uint16(nvmlConfig(m.modelOf(i)).PciDeviceId >> 16),
					class: classGPU, numaNode: m.GPUs[i].NUMANode, gpu: i,
				}
				g.dir = parent + "/" + g.addr.sysfs()
				out = append(out, g)
			}
			lower = bus
		}
	}
	return out
}

func (m *Machine) writePCI(w *treeWriter) error {
	nbits := m.CPU.cpus()
	for _, f := range m.pciTree() {
		if err := m.writePCIFunction(w, f, nbits); err != nil {
			return fmt.Errorf("%s: %w", f.addr.sysfs(), err)
		}
	}
	// The driver directory exists even with no GPU, as when the module is
	// loaded.
	return w.dir("sys/bus/pci/drivers/nvidia")
}

func (m *Machine) writePCIFunction(w *treeWriter, f pciFunction, nbits int) error {
	cpus := m.CPU.nodeCPUs(f.numaNode)
	subVendor, subDevice := uint16(0), uint16(0)
	if f.gpu >= 0 {
		// Board subsystem IDs vary by OEM and are not modelled; NVIDIA's
		// vendor ID with a zero subsystem keeps the modalias well-formed.
		subVendor = vendorNVIDIA
	}
	files := []struct{ name, content string }{
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
	if f.gpu >= 0 {
		speed := linkSpeed(models[m.modelOf(f.gpu)].pcieGen)
		files = append(files,
			struct{ name, content string }{"revision", fmt.Sprintf("0x%02x", gpuRevision)},
			struct{ name, content string }{"current_link_speed", speed},
			struct{ name, content string }{"max_link_speed", speed},
			struct{ name, content string }{"current_link_width", "16"},
			struct{ name, content string }{"max_link_width", "16"},
		)
	} else {
		files = append(files,
			struct{ name, content string }{"secondary_bus_number", fmt.Sprint(f.secondary)},
			struct{ name, content string }{"subordinate_bus_number", fmt.Sprint(f.subordinate)},
		)
	}
	for _, file := range files {
		if err := w.file(f.dir+"/"+file.name, file.content); err != nil {
			return err
		}
	}
	id := f.addr.sysfs()
	if err := w.link("sys/bus/pci/devices/"+id, f.dir); err != nil {
		return err
	}
	if f.gpu < 0 {
		return nil
	}
	// Bound to the nvidia driver, and visible as a DRM card, as with
	// nvidia-drm loaded: ghw finds GPUs through /sys/class/drm.
	card := fmt.Sprintf("card%d", f.gpu)
	links := []struct{ at, to string }{
		{f.dir + "/driver", "sys/bus/pci/drivers/nvidia"},
		{"sys/bus/pci/drivers/nvidia/" + id, f.dir},
		{f.dir + "/drm/" + card + "/device", f.dir},
		{"sys/class/drm/" + card, f.dir + "/drm/" + card},
	}
	for _, l := range links {
		if err := w.link(l.at, l.to); err != nil {
			return err
		}
	}
	return nil
}

// linkSpeed is the sysfs current_link_speed text of a PCIe generation.
func linkSpeed(gen int) string {
	switch gen {
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
