package driver

import (
	"fmt"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
)

func TestSplitSlices(t *testing.T) {
	for _, n := range []int{0, 1, resourceapi.ResourceSliceMaxDevices, resourceapi.ResourceSliceMaxDevices + 1, 300} {
		devices := make([]resourceapi.Device, n)
		for i := range devices {
			devices[i].Name = fmt.Sprintf("d%d", i)
		}
		slices := SplitSlices(devices)
		total := 0
		for _, s := range slices {
			if len(s.Devices) > resourceapi.ResourceSliceMaxDevices {
				t.Fatalf("%d devices: a slice holds %d", n, len(s.Devices))
			}
			for _, d := range s.Devices {
				if d.Name != fmt.Sprintf("d%d", total) {
					t.Fatalf("%d devices: order changed at %d", n, total)
				}
				total++
			}
		}
		wantSlices := max(1, (n+resourceapi.ResourceSliceMaxDevices-1)/resourceapi.ResourceSliceMaxDevices)
		if total != n || len(slices) != wantSlices {
			t.Fatalf("%d devices: %d in %d slices, want %d slices", n, total, len(slices), wantSlices)
		}
	}
}
