package nvidia

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

func TestMIGMemoryGB(t *testing.T) {
	tests := []struct {
		sizeMB, totalMB uint64
		want            uint64
	}{
		{4864, 40960, 5}, {9856, 40960, 10}, {19968, 40960, 20}, {40192, 40960, 40}, // A100 40GB
		{9856, 81920, 10}, {40192, 81920, 40}, {80384, 81920, 80}, // A100 80GB
		{5836, 24576, 6}, {11672, 24576, 12}, {23344, 24576, 24}, // A30
		{18432, 144384, 18}, {35840, 144384, 35}, {72704, 144384, 71}, {144384, 144384, 141}, // H200 (mock)
		{23552, 184320, 23}, {46080, 184320, 45}, // B200 (mock)
	}
	for _, tt := range tests {
		if got := MIGMemoryGB(tt.sizeMB, tt.totalMB); got != tt.want {
			t.Errorf("MIGMemoryGB(%d, %d) = %d, want %d", tt.sizeMB, tt.totalMB, got, tt.want)
		}
	}
}

func TestMIGProfileName(t *testing.T) {
	tests := []struct {
		info    nvml.GpuInstanceProfileInfo
		totalMB uint64
		want    string
	}{
		{nvml.GpuInstanceProfileInfo{Id: nvml.GPU_INSTANCE_PROFILE_1_SLICE, SliceCount: 1, MemorySizeMB: 4864}, 40960, "1g.5gb"},
		{nvml.GpuInstanceProfileInfo{Id: nvml.GPU_INSTANCE_PROFILE_7_SLICE, SliceCount: 7, MemorySizeMB: 40192}, 40960, "7g.40gb"},
		{nvml.GpuInstanceProfileInfo{Id: nvml.GPU_INSTANCE_PROFILE_1_SLICE_REV1, SliceCount: 1, MemorySizeMB: 9856}, 81920, "1g.10gb+me"},
		{nvml.GpuInstanceProfileInfo{Id: nvml.GPU_INSTANCE_PROFILE_1_SLICE_NO_ME, SliceCount: 1, MemorySizeMB: 9856}, 81920, "1g.10gb-me"},
	}
	for _, tt := range tests {
		if got := MIGProfileName(tt.info, tt.totalMB); got != tt.want {
			t.Errorf("MIGProfileName(%+v, %d) = %q, want %q", tt.info, tt.totalMB, got, tt.want)
		}
	}
}
