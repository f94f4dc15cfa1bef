package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	pciaddr "github.com/jaypipes/ghw/pkg/pci/address"
	"github.com/jaypipes/pcidb"
)

// PCI vendor ids of the GPU makers whose display-class functions are
// reported as GPUs. Other display controllers (the BMC's ASPEED or Matrox
// VGA, virtio-gpu) are no accelerators.
const (
	VendorNVIDIA uint16 = 0x10de
	VendorAMD    uint16 = 0x1002 // AMD/ATI graphics; 0x1022 is AMD's CPU and chipset id
	VendorIntel  uint16 = 0x8086
)

// PCI classes (base class << 8 | subclass) discovery looks at.
const (
	classBaseNetwork     = 0x02   // Ethernet, InfiniBand and other network controllers
	classBaseDisplay     = 0x03   // VGA and 3D controllers
	classInfiniBandOlder = 0x0c06 // serial bus / InfiniBand: HCAs before ConnectX-3
)

const pciDevicesDir = "sys/bus/pci/devices"

// pcieRootPattern is a PCI host bridge directory below sys/devices:
// "pci0000:15", or "pci10000:00" behind Intel VMD, whose domains have
// five digits.
var pcieRootPattern = regexp.MustCompile(`^pci[0-9a-f]{4,5}:[0-9a-f]{2}$`)

// readPCI fills t.GPUs and t.NICs from sys/bus/pci/devices, whose entries
// link to every PCI function's directory below sys/devices.
func (d *discovery) readPCI() {
	names := &pciNames{root: d.r.root}
	// Machines without PCI (s390x, some virtual machines) have no such
	// directory, which is no warning.
	for _, e := range d.r.optDir(pciDevicesDir, "no GPU or NIC discovered") {
		addr := pciaddr.FromString(e.Name())
		if addr == nil {
			continue
		}
		dev, dir, ok := d.readPCIDevice(addr.String(), pciDevicesDir+"/"+e.Name())
		if !ok {
			continue
		}
		dev.VendorName, dev.ProductName = names.lookup(dev.Vendor, dev.Device)
		if dev.Class>>16 == classBaseDisplay {
			d.t.GPUs = append(d.t.GPUs, dev)
		} else {
			d.t.NICs = append(d.t.NICs, d.readNIC(dev, dir))
		}
	}
}

// readPCIDevice reads the PCI function linked at rel if it is a GPU or a
// NIC. It returns the device and its directory below sys/devices.
func (d *discovery) readPCIDevice(address, rel string) (PCIDevice, string, bool) {
	dev := PCIDevice{Address: address, NUMANode: Unknown}
	dir, ok := d.pciDir(rel)
	if !ok {
		return dev, "", false
	}
	class, ok := d.hexAttr(dir+"/class", 24, "device skipped")
	if !ok {
		return dev, "", false
	}
	dev.Class = uint32(class)
	base := dev.Class >> 16
	if base != classBaseNetwork && base != classBaseDisplay && dev.Class>>8 != classInfiniBandOlder {
		return dev, "", false
	}
	vendor, ok := d.hexAttr(dir+"/vendor", 16, "device skipped")
	if !ok {
		return dev, "", false
	}
	dev.Vendor = uint16(vendor)
	if base == classBaseDisplay && dev.Vendor != VendorNVIDIA && dev.Vendor != VendorAMD && dev.Vendor != VendorIntel {
		return dev, "", false
	}
	if device, ok := d.hexAttr(dir+"/device", 16, "device id unknown"); ok {
		dev.Device = uint16(device)
	}
	dev.PCIeRoot = d.pcieRoot(rel, dir)
	dev.NUMANode = d.deviceNode(dir + "/numa_node")
	if target, err := d.r.resolve(dir + "/driver"); err == nil {
		dev.Driver = path.Base(target)
	} else if !errors.Is(err, fs.ErrNotExist) {
		d.r.warn(dir+"/driver", "%s; driver unknown", why(err))
	}
	return dev, dir, true
}

// pciDir resolves the sys/bus/pci/devices link rel to the function's
// directory below sys/devices. A device whose directory cannot be found
// is skipped.
func (d *discovery) pciDir(rel string) (string, bool) {
	target, err := d.r.resolve(rel)
	if err != nil {
		d.r.warn(rel, "not a readable link: %s; device skipped", why(err))
		return "", false
	}
	if !d.r.exists(target) {
		d.r.warn(rel, "dangling link to %s; device skipped", target)
		return "", false
	}
	return target, true
}

// pcieRoot names the host bridge of the function at dir (below
// sys/devices): the directory right below sys/devices, as the standard
// pcieRoot attribute (k8s.io/dynamic-resource-allocation/deviceattribute)
// takes it. Functions elsewhere, such as behind a Hyper-V virtual bus,
// have none there either.
func (d *discovery) pcieRoot(rel, dir string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(dir, "sys/devices/"), "/")
	if !strings.HasPrefix(dir, "sys/devices/") || !pcieRootPattern.MatchString(first) {
		d.r.warn(rel, "links to %s, not below a sys/devices/pciDDDD:BB host bridge; PCIe root unknown", dir)
		return ""
	}
	return first
}

// deviceNode reads a device's numa_node. The kernel writes -1 when the
// firmware gives no affinity: normal on one-node machines, worth a
// warning on bigger ones, where the device then belongs to no node.
func (d *discovery) deviceNode(rel string) int {
	multi := len(d.t.Nodes) > 1
	data, err := d.r.readFile(rel, maxAttrBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !multi:
		// Kernels without NUMA support have no numa_node at all.
		return Unknown
	case err != nil:
		d.r.warn(rel, "%s; NUMA node unknown", why(err))
		return Unknown
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	switch {
	case err != nil:
		d.r.warn(rel, "not an integer: %s; NUMA node unknown", quote(strings.TrimSpace(string(data))))
		return Unknown
	case v == -1 && multi:
		d.r.warn(rel, "is -1: the firmware reports no affinity on a machine with %d NUMA nodes; NUMA node unknown", len(d.t.Nodes))
		return Unknown
	case v == -1:
		return Unknown
	case d.t.Node(v) == nil:
		d.r.warn(rel, "names node %d, which does not exist; NUMA node unknown", v)
		return Unknown
	}
	return v
}

// hexAttr reads a hexadecimal attribute such as vendor or class.
func (d *discovery) hexAttr(rel string, bits int, orElse string) (uint64, bool) {
	s, ok := d.r.attr(rel, orElse)
	if !ok {
		return 0, false
	}
	v, err := parseHex(s, bits)
	if err != nil {
		d.r.warn(rel, "%v; %s", err, orElse)
		return 0, false
	}
	return v, true
}

// pciNames looks up vendor and device names in the PCI ID database
// (pci.ids) below root, or else the host's. The database is parsed on
// the first lookup only, since machines without GPUs or NICs need none,
// and it is not kept between discoveries: the parsed database takes
// megabytes, not worth holding in a long-running plugin for display
// names. The network is never used, whatever PCIDB_ENABLE_NETWORK_FETCH
// says.
type pciNames struct {
	root   string
	db     *pcidb.PCIDB
	loaded bool
}

func (n *pciNames) lookup(vendor, device uint16) (vendorName, productName string) {
	if !n.loaded {
		n.loaded = true
		n.db = loadPCIDB(n.root)
		if n.db == nil && n.root != "/" {
			n.db = loadPCIDB("/")
		}
	}
	if n.db == nil {
		return "", ""
	}
	v := fmt.Sprintf("%04x", vendor)
	if x := n.db.Vendors[v]; x != nil {
		vendorName = x.Name
	}
	if x := n.db.Products[v+fmt.Sprintf("%04x", device)]; x != nil {
		productName = x.Name
	}
	return vendorName, productName
}

func loadPCIDB(root string) *pcidb.PCIDB {
	noNetwork := false
	db, err := pcidb.New(&pcidb.WithOption{Chroot: &root, EnableNetworkFetch: &noNetwork})
	if err != nil {
		// Names are a nicety: images without pci.ids are common and
		// nothing is lost but the names.
		return nil
	}
	return db
}
