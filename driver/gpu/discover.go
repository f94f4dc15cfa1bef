// Package gpu is hadron's GPU device family (DRA driver gpu.hadron.dev):
// it discovers GPUs through NVML (the real library, or a simulated machine
// behind the same nvml.Interface), completes their topology from sysfs,
// publishes them as ResourceSlice devices and prepares them for containers.
package gpu

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
)

// GPU is what discovery learned about one physical GPU.
type GPU struct {
	Index             int
	Minor             int
	UUID              string
	ProductName       string
	Brand             string
	Architecture      string
	ComputeCapability string // "9.0"
	MemoryBytes       uint64
	PCIBusID          string // "0000:18:00.0", as in sysfs
	PCIeRoot          string // "pci0000:15"; empty when unknown
	NUMANode          *int   // nil when the GPU has no NUMA affinity
	IdlePowerWatts    int
	MaxPowerWatts     int
}

// Host is what discovery learned about the GPU host as a whole.
type Host struct {
	DriverVersion     string
	CUDADriverVersion string // "12.4"
	GPUs              []GPU
}

// Discover reads every GPU from an initialised NVML library. sysfsRoot is
// the directory that holds sys/ ("/" on a real node, a fake tree for
// simulated machines).
func Discover(lib nvml.Interface, sysfsRoot string) (*Host, error) {
	host := &Host{}
	var ret nvml.Return
	if host.DriverVersion, ret = lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		return nil, nvmlError("get driver version", ret)
	}
	cuda, ret := lib.SystemGetCudaDriverVersion()
	if ret != nvml.SUCCESS {
		return nil, nvmlError("get CUDA driver version", ret)
	}
	host.CUDADriverVersion = fmt.Sprintf("%d.%d", cuda/1000, (cuda%1000)/10)
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, nvmlError("count devices", ret)
	}
	for i := 0; i < count; i++ {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, nvmlError(fmt.Sprintf("get device %d", i), ret)
		}
		g, err := describe(dev, i, sysfsRoot)
		if err != nil {
			return nil, fmt.Errorf("GPU %d: %w", i, err)
		}
		host.GPUs = append(host.GPUs, g)
	}
	return host, nil
}

func describe(dev nvml.Device, index int, sysfsRoot string) (GPU, error) {
	g := GPU{Index: index}
	var ret nvml.Return
	if g.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		return g, nvmlError("get UUID", ret)
	}
	if g.ProductName, ret = dev.GetName(); ret != nvml.SUCCESS {
		return g, nvmlError("get name", ret)
	}
	if g.Minor, ret = dev.GetMinorNumber(); ret != nvml.SUCCESS {
		return g, nvmlError("get minor number", ret)
	}
	if brand, ret := dev.GetBrand(); ret == nvml.SUCCESS {
		g.Brand = brandName(brand)
	}
	arch, ret := dev.GetArchitecture()
	if ret != nvml.SUCCESS {
		return g, nvmlError("get architecture", ret)
	}
	g.Architecture = architectureName(arch)
	major, minor, ret := dev.GetCudaComputeCapability()
	if ret != nvml.SUCCESS {
		return g, nvmlError("get compute capability", ret)
	}
	g.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return g, nvmlError("get memory info", ret)
	}
	g.MemoryBytes = mem.Total
	pci, ret := dev.GetPciInfo()
	if ret != nvml.SUCCESS {
		return g, nvmlError("get PCI info", ret)
	}
	busID, err := normalizeBusID(cString(pci.BusId[:]))
	if err != nil {
		return g, err
	}
	g.PCIBusID = busID
	g.NUMANode, g.PCIeRoot = topology(dev, busID, sysfsRoot)
	g.IdlePowerWatts, g.MaxPowerWatts = power(dev, g.ProductName)
	return g, nil
}

// topology reads the GPU's NUMA node and PCIe root from sysfs. NVML's own
// NUMA query only answers for GPUs with NUMA-attached memory, so it is the
// fallback, not the source.
func topology(dev nvml.Device, busID, sysfsRoot string) (*int, string) {
	mods := []deviceattribute.MachineModifier{}
	if sysfsRoot != "" && sysfsRoot != "/" {
		// The helpers read paths below sys/, so they are rooted there.
		mods = append(mods, deviceattribute.WithFSFromRoot(filepath.Join(sysfsRoot, "sys")))
	}
	var numa *int
	if attr, err := deviceattribute.GetNUMANodeAttributeByPCIBusID(busID, deviceattribute.ScalarAttribute, mods...); err == nil && attr.Value.IntValue != nil {
		n := int(*attr.Value.IntValue)
		numa = &n
	} else if n, ret := dev.GetNumaNodeId(); ret == nvml.SUCCESS && n >= 0 {
		numa = &n
	}
	root := ""
	if attr, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(busID, mods...); err == nil && attr.Value.StringValue != nil {
		root = *attr.Value.StringValue
	}
	return numa, root
}

// normalizeBusID turns NVML's "00000000:18:00.0" into sysfs's "0000:18:00.0".
func normalizeBusID(nvmlBusID string) (string, error) {
	id := strings.ToLower(strings.TrimSpace(nvmlBusID))
	parts := strings.SplitN(id, ":", 2)
	if len(parts) != 2 || len(parts[0]) < 4 {
		return "", fmt.Errorf("unexpected PCI bus ID %q from NVML", nvmlBusID)
	}
	return parts[0][len(parts[0])-4:] + ":" + parts[1], nil
}

func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func nvmlError(what string, ret nvml.Return) error {
	return fmt.Errorf("NVML %s: %w", what, errors.New(nvml.ErrorString(ret)))
}

func architectureName(a nvml.DeviceArchitecture) string {
	switch a {
	case nvml.DEVICE_ARCH_KEPLER:
		return "Kepler"
	case nvml.DEVICE_ARCH_MAXWELL:
		return "Maxwell"
	case nvml.DEVICE_ARCH_PASCAL:
		return "Pascal"
	case nvml.DEVICE_ARCH_VOLTA:
		return "Volta"
	case nvml.DEVICE_ARCH_TURING:
		return "Turing"
	case nvml.DEVICE_ARCH_AMPERE:
		return "Ampere"
	case nvml.DEVICE_ARCH_ADA:
		return "Ada Lovelace"
	case nvml.DEVICE_ARCH_HOPPER:
		return "Hopper"
	case nvml.DEVICE_ARCH_BLACKWELL:
		return "Blackwell"
	default:
		return "Unknown"
	}
}

func brandName(b nvml.BrandType) string {
	switch b {
	case nvml.BRAND_TESLA:
		return "Tesla"
	case nvml.BRAND_QUADRO, nvml.BRAND_NVIDIA_RTX:
		return "RTX"
	case nvml.BRAND_GEFORCE:
		return "GeForce"
	case nvml.BRAND_NVIDIA:
		return "Nvidia"
	default:
		return "Unknown"
	}
}
