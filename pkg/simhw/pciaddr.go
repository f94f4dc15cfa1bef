package simhw

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// pciAddr is a PCI function address (domain:bus:device.function).
type pciAddr struct {
	Domain   uint32
	Bus      uint32
	Device   uint32
	Function uint32
}

// sysfsBusIDPattern is the form Linux uses for PCI directory names and the
// only form accepted in machine files, so that a description can be
// compared with `ls /sys/bus/pci/devices` verbatim.
var sysfsBusIDPattern = regexp.MustCompile(`^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$`)

// pcieRootPattern is the sysfs name of a PCI host bridge, "pci<domain>:<bus>".
var pcieRootPattern = regexp.MustCompile(`^pci([0-9a-f]{4}):([0-9a-f]{2})$`)

// parseSysfsBusID parses the strict sysfs form "0000:18:00.0".
func parseSysfsBusID(s string) (pciAddr, bool) {
	m := sysfsBusIDPattern.FindStringSubmatch(s)
	if m == nil {
		return pciAddr{}, false
	}
	a := pciAddr{Domain: hex(m[1]), Bus: hex(m[2]), Device: hex(m[3]), Function: hex(m[4])}
	// Five bits of device number: anything above 0x1f cannot exist.
	if a.Device > 0x1f {
		return pciAddr{}, false
	}
	return a, true
}

// parsePCIeRoot parses "pci0000:15" into its domain and root bus.
func parsePCIeRoot(s string) (domain, bus uint32, ok bool) {
	m := pcieRootPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	return hex(m[1]), hex(m[2]), true
}

// parseNVMLBusID accepts the forms nvmlDeviceGetHandleByPciBusId documents
// ("domain:bus:device.function", "domain:bus:device", "bus:device.function",
// any case, any domain width), so the simulation is as forgiving as NVML.
func parseNVMLBusID(s string) (pciAddr, bool) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, ":")
	var a pciAddr
	var devFn string
	switch len(parts) {
	case 3:
		d, ok := parseHex(parts[0], 32)
		if !ok {
			return pciAddr{}, false
		}
		a.Domain = d
		b, ok := parseHex(parts[1], 8)
		if !ok {
			return pciAddr{}, false
		}
		a.Bus = b
		devFn = parts[2]
	case 2:
		b, ok := parseHex(parts[0], 8)
		if !ok {
			return pciAddr{}, false
		}
		a.Bus = b
		devFn = parts[1]
		if !strings.Contains(devFn, ".") {
			return pciAddr{}, false
		}
	default:
		return pciAddr{}, false
	}
	dev, fn, hasFn := strings.Cut(devFn, ".")
	d, ok := parseHex(dev, 5)
	if !ok {
		return pciAddr{}, false
	}
	a.Device = d
	if hasFn {
		f, ok := parseHex(fn, 3)
		if !ok {
			return pciAddr{}, false
		}
		a.Function = f
	}
	return a, true
}

// sysfs formats the address as Linux names PCI devices: "0000:18:00.0".
func (a pciAddr) sysfs() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", a.Domain, a.Bus, a.Device, a.Function)
}

// nvmlBusID formats the address as NVML fills PciInfo.BusId
// (NVML_DEVICE_PCI_BUS_ID_FMT, "%08X:%02X:%02X.0" in nvml.h). NVML prints
// function 0 literally because GPUs are always function 0; the real
// function is printed here so that an unusual description stays visible.
func (a pciAddr) nvmlBusID() string {
	return fmt.Sprintf("%08X:%02X:%02X.%X", a.Domain, a.Bus, a.Device, a.Function)
}

// nvmlBusIDLegacy formats PciInfo.BusIdLegacy
// (NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT, "%04X:%02X:%02X.0").
func (a pciAddr) nvmlBusIDLegacy() string {
	return fmt.Sprintf("%04X:%02X:%02X.%X", a.Domain, a.Bus, a.Device, a.Function)
}

func hex(s string) uint32 {
	v, _ := strconv.ParseUint(s, 16, 32)
	return uint32(v)
}

func parseHex(s string, bits int) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, bits)
	if err != nil {
		return 0, false
	}
	return uint32(v), true
}
