package gpu

import (
	"fmt"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/hadron-sched/hadron/pkg/nvidia"
)

// migProfile is one MIG GPU-instance profile a GPU supports, with the
// placements the hardware allows for it.
type migProfile struct {
	Name          string // NVIDIA's name, e.g. "1g.10gb", "1g.10gb+me"
	SliceCount    int    // compute slices
	MemoryBytes   uint64
	Placements    []nvml.GpuInstancePlacement
	deviceNameTag string
	// info is NVML's description of the profile, kept from discovery so
	// that creating a partition need not ask again.
	info nvml.GpuInstanceProfileInfo
}

// migLayout is what MIG partitioning looks like on one GPU.
type migLayout struct {
	Profiles      []migProfile
	MemorySlices  int // placement units (8 on A100/H100)
	ComputeSlices int // 7 on A100/H100
}

// deviceTag turns a profile name into a DNS-label fragment:
// "1g.10gb+me" → "1g10gbme", "1g.10gb-me" → "1g10gbnome".
func deviceTag(name string) string {
	r := strings.NewReplacer("-me", "nome", "+me.all", "meall", "+", "", ".", "")
	return r.Replace(name)
}

// discoverMIG reads the MIG profiles and placements of a GPU with totalMB
// of memory. allowed, if not empty, limits the profiles offered (by name).
func discoverMIG(dev nvml.Device, totalMB uint64, allowed []string) (*migLayout, error) {
	layout := &migLayout{}
	keep := map[string]bool{}
	for _, p := range allowed {
		keep[p] = true
	}
	for id := 0; id < nvml.GPU_INSTANCE_PROFILE_COUNT; id++ {
		info, ret := dev.GetGpuInstanceProfileInfo(id)
		if ret == nvml.ERROR_NOT_SUPPORTED || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue
		}
		if ret != nvml.SUCCESS {
			return nil, nvmlError(fmt.Sprintf("get MIG profile %d", id), ret)
		}
		placements, ret := dev.GetGpuInstancePossiblePlacements(&info)
		if ret != nvml.SUCCESS {
			return nil, nvmlError(fmt.Sprintf("get placements of MIG profile %d", id), ret)
		}
		for _, p := range placements {
			layout.MemorySlices = max(layout.MemorySlices, int(p.Start+p.Size))
		}
		layout.ComputeSlices = max(layout.ComputeSlices, int(info.SliceCount))
		name := nvidia.MIGProfileName(info, totalMB)
		if len(keep) > 0 && !keep[name] {
			continue
		}
		if len(placements) == 0 {
			continue
		}
		layout.Profiles = append(layout.Profiles, migProfile{
			Name: name, SliceCount: int(info.SliceCount), MemoryBytes: info.MemorySizeMB << 20,
			Placements: placements, deviceNameTag: deviceTag(name), info: info,
		})
	}
	if len(layout.Profiles) == 0 {
		if len(allowed) > 0 {
			return nil, fmt.Errorf("GPU supports none of the configured MIG profiles %s", strings.Join(allowed, ", "))
		}
		return nil, fmt.Errorf("GPU supports no MIG profile")
	}
	return layout, nil
}

// MIGDeviceName is the DRA device name of one MIG partition: the GPU, the
// profile and the placement's first memory slice, so that it is stable and
// names exactly one place on the hardware.
func MIGDeviceName(gpuUUID string, p migProfile, start uint32) string {
	return fmt.Sprintf("%s-mig-%s-p%d", DeviceName(gpuUUID), p.deviceNameTag, start)
}

// Counter names of a MIG-capable GPU's counter set.
const computeSlicesCounter = "compute-slices"

func memorySliceCounter(i int) string { return fmt.Sprintf("memory-slice-%d", i) }
