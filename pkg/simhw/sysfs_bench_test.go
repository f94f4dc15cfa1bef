package simhw

import "testing"

// BenchmarkWriteSysfs measures writing a DGX H100's fake sysfs tree: part
// of every simulated node's start.
func BenchmarkWriteSysfs(b *testing.B) {
	m, err := Load("dgxh100")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := m.WriteSysfs(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
