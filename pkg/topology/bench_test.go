package topology

import (
	"os"
	"path"
	"testing"
)

// BenchmarkDiscover measures one discovery per fixture: the ghw snapshots
// of real machines, the simulated machines' trees and the machine running
// the benchmark. The trees are written before the timer starts; the page
// cache holds them, as the kernel holds sysfs in memory.
func BenchmarkDiscover(b *testing.B) {
	type fixture struct {
		name string
		root func(b *testing.B) string
	}
	var fixtures []fixture
	for _, s := range []string{
		"linux-amd64-8581cf3a529e5d8b97ea876eade2f60d",
		"linux-amd64-accel-nvidia",
		"linux-amd64-offlineCPUs",
		"linux-amd64-61797caf7c0b6bca1725ad7975ed4773",
		"linux-amd64-415ee03b8c4d1c4f07ae2e9d8b3d3d6d",
		"testdata/linux-amd64-h200-vm",
	} {
		fixtures = append(fixtures, fixture{"snapshot/" + path.Base(s), func(b *testing.B) string { return snapshotRoot(b, s) }})
	}
	for _, m := range []string{"dgxh100", "dgxa100", "workstation"} {
		fixtures = append(fixtures, fixture{"machine/" + m, func(b *testing.B) string {
			_, root := machineRoot(b, m)
			return root
		}})
	}
	// The machine running the benchmark, through its real sysfs.
	fixtures = append(fixtures, fixture{"host", func(b *testing.B) string {
		if _, err := os.Stat("/sys/devices/system/cpu"); err != nil {
			b.Skip("no sysfs on this machine")
		}
		return "/"
	}})
	for _, f := range fixtures {
		b.Run(f.name, func(b *testing.B) {
			root := f.root(b)
			for b.Loop() {
				if _, err := Discover(root); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
