package gpu

import (
	"fmt"
	"math"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// migProfile is one MIG GPU-instance profile a GPU supports, with the
// placements the hardware allows for it.
type migProfile struct {
	ID            int
	Name          string // NVIDIA's name, e.g. "1g.10gb", "1g.10gb+me"
	SliceCount    int    // compute slices
	MemoryBytes   uint64
	Multiprocs    int
	Placements    []nvml.GpuInstancePlacement
	deviceNameTag string
}

// migLayout is what MIG partitioning looks like on one GPU.
type migLayout struct {
	Profiles      []migProfile
	MemorySlices  int // placement units (8 on A100/H100)
	ComputeSlices int // 7 on A100/H100
}

// profileSuffix names the media-engine variants as nvidia-smi does.
var profileSuffix = map[int]string{
	nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1:   "+me",
	nvml.GPU_INSTANCE_PROFILE_2_SLICE_REV1:   "+me",
	nvml.GPU_INSTANCE_PROFILE_1_SLICE_NO_ME:  "-me",
	nvml.GPU_INSTANCE_PROFILE_2_SLICE_NO_ME:  "-me",
	nvml.GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME: "+me.all",
	nvml.GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME: "+me.all",
	nvml.GPU_INSTANCE_PROFILE_1_SLICE_GFX:    "+gfx",
	nvml.GPU_INSTANCE_PROFILE_2_SLICE_GFX:    "+gfx",
	nvml.GPU_INSTANCE_PROFILE_3_SLICE_GFX:    "+gfx",
	nvml.GPU_INSTANCE_PROFILE_4_SLICE_GFX:    "+gfx",
}

// migProfileName follows NVIDIA's "<compute slices>g.<memory GB>gb" naming.
func migProfileName(id int, info nvml.GpuInstanceProfileInfo) string {
	gb := int(math.Round(float64(info.MemorySizeMB) / 1024))
	return fmt.Sprintf("%dg.%dgb%s", info.SliceCount, gb, profileSuffix[id])
}

// deviceTag turns a profile name into a DNS-label fragment:
// "1g.10gb+me" → "1g10gbme", "1g.10gb-me" → "1g10gbnome".
func deviceTag(name string) string {
	r := strings.NewReplacer("-me", "nome", "+me.all", "meall", "+", "", ".", "")
	return r.Replace(name)
}

// discoverMIG reads the MIG profiles and placements of a GPU. allowed, if
// not empty, limits the profiles offered (by name).
func discoverMIG(dev nvml.Device, allowed []string) (*migLayout, error) {
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
		name := migProfileName(id, info)
		if len(keep) > 0 && !keep[name] {
			continue
		}
		if len(placements) == 0 {
			continue
		}
		layout.Profiles = append(layout.Profiles, migProfile{
			ID: id, Name: name, SliceCount: int(info.SliceCount), MemoryBytes: info.MemorySizeMB << 20,
			Multiprocs: int(info.MultiprocessorCount), Placements: placements, deviceNameTag: deviceTag(name),
		})
	}
	if len(layout.Profiles) == 0 {
		return nil, fmt.Errorf("GPU supports no MIG profile%s", map[bool]string{true: " of " + strings.Join(allowed, ", "), false: ""}[len(allowed) > 0])
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
