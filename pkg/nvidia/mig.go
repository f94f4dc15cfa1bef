// Package nvidia holds NVIDIA naming conventions that both the GPU driver
// and the simulated hardware must follow exactly, so that a name the
// simulation reports is the name the driver publishes.
package nvidia

import (
	"fmt"
	"math"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// migProfileSuffix names the media-engine variants of GPU instance
// profiles the way NVIDIA's tools do.
var migProfileSuffix = map[uint32]string{
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

// MIGProfileName is NVIDIA's "<g>g.<GB>gb[suffix]" name of a GPU instance
// profile (e.g. "1g.10gb", "1g.10gb+me") on a GPU with totalMB of memory.
func MIGProfileName(gi nvml.GpuInstanceProfileInfo, totalMB uint64) string {
	return fmt.Sprintf("%dg.%dgb%s", gi.SliceCount, MIGMemoryGB(gi.MemorySizeMB, totalMB), migProfileSuffix[gi.Id])
}

// MIGMemoryGB is the memory figure in a profile name. NVIDIA names a
// profile after its share of the board's memory, in eighths (the memory
// slices), times the board's size: the A100 40GB's 40192 MB full profile is
// "7g.40gb", not 39. The go-nvml mock's Hopper and Blackwell tables give
// sizes that are not such shares but already the named figure (H200
// 1g.18gb is 18432 MB, more than an eighth of 141 GB), so when the share
// rule lands more than 1 GB away from the size itself, the size wins.
func MIGMemoryGB(sizeMB, totalMB uint64) uint64 {
	direct := (sizeMB + 1023) / 1024
	if totalMB == 0 {
		return direct
	}
	eighths := math.Ceil(float64(sizeMB) / float64(totalMB) * 8)
	totalGB := float64((totalMB + 1023) / 1024)
	share := uint64(math.Round(eighths / 8 * totalGB))
	if share+1 < direct || direct+1 < share {
		return direct
	}
	return share
}
