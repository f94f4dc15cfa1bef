package topology

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jaypipes/ghw/pkg/snapshot"
)

// TestCaptureRoundTrip captures trees, unpacks the archives with ghw's
// snapshot package and checks that discovery finds the same machine in
// them: the archive holds every file discovery reads.
func TestCaptureRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		root func(t *testing.T) string
	}{
		{"synthetic with NICs", func(t *testing.T) string {
			tr := newTree(t).twoSockets()
			tr.nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "400 Gb/sec (4X NDR)", "uverbs0")
			tr.nic("pci0000:97", "0000:9a:00.1", 1, "ens2f1np1", "mlx5_3", "Ethernet", "200 Gb/sec (4X HDR)", "uverbs3")
			tr.pciDevice("pci0000:00", "0000:01:00.0", 0x030200, VendorNVIDIA, 0x2330, -1, "nvidia")
			dir := tr.pciDevice("pci0000:00", "0000:03:00.0", 0x020000, 0x8086, 0x15f3, 0, "igc")
			tr.file(dir+"/net/enp3s0/address", "a0:36:9f:00:00:01")
			return tr.root
		}},
		{"snapshot linux-amd64-accel-nvidia", func(t *testing.T) string {
			return snapshotRoot(t, "linux-amd64-accel-nvidia")
		}},
		{"machine workstation", func(t *testing.T) string {
			_, root := machineRoot(t, "workstation")
			return root
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := tc.root(t)
			want, err := Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(t.TempDir(), "capture.tar.gz")
			if err := Capture(root, archive); err != nil {
				t.Fatal(err)
			}
			unpacked := t.TempDir()
			if err := snapshot.UnpackInto(archive, unpacked); err != nil {
				t.Fatal(err)
			}
			got, err := Discover(unpacked)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range got.NICs {
				if n.MAC != "" && !strings.HasPrefix(n.MAC, "02:00:00:00:00:") {
					t.Errorf("NIC %s: captured MAC %q is not a made-up one", n.Address, n.MAC)
				}
				if want.NICs[i].MAC != "" && n.MAC == "" {
					t.Errorf("NIC %s: MAC lost", n.Address)
				}
			}
			if a, b := withoutCaptureChanges(got), withoutCaptureChanges(want); !reflect.DeepEqual(a, b) {
				t.Errorf("discovered from the capture:\n%s\nfrom the tree:\n%s", render(t, a), render(t, b))
			}
		})
	}
}

// withoutCaptureChanges returns a copy of topo without what a capture changes: the
// root and the MAC addresses.
func withoutCaptureChanges(topo *Topology) *Topology {
	c := *topo
	c.Root = ""
	c.NICs = append([]NIC(nil), topo.NICs...)
	for i := range c.NICs {
		c.NICs[i].MAC = ""
	}
	return &c
}

func TestCaptureArchive(t *testing.T) {
	tr := newTree(t).twoSockets()
	tr.nic(ibRoot, ibAddr, 0, "ibp24s0", "mlx5_0", "InfiniBand", "400 Gb/sec (4X NDR)", "uverbs0")
	tr.file("proc/self/mounts", "/dev/sda1 /home/someone ext4 rw 0 0")
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
	for _, out := range []string{first, second} {
		if err := Capture(tr.root, out); err != nil {
			t.Fatal(err)
		}
	}
	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two captures of the same tree differ")
	}
	names := map[string]*tar.Header{}
	gz, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	tarball := tar.NewReader(gz)
	for {
		hdr, err := tarball.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[strings.TrimSuffix(hdr.Name, "/")] = hdr
		if hdr.Typeflag == tar.TypeSymlink && filepath.IsAbs(hdr.Linkname) {
			t.Errorf("%s links to the absolute %s", hdr.Name, hdr.Linkname)
		}
		if hdr.Uid != 0 || hdr.Uname != "" || hdr.ModTime.Unix() != 0 {
			t.Errorf("%s carries owner or time: %+v", hdr.Name, hdr)
		}
	}
	for _, want := range []string{
		"sys/devices/system/cpu/online",
		cpu0Top + "thread_siblings_list",
		"sys/devices/system/cpu/cpu0/cache/index3/shared_cpu_list",
		"sys/devices/system/node/node1/distance",
		"sys/bus/pci/devices/" + ibAddr,
		ibDir + "/numa_node",
		ibDir + "/driver",
		ibDir + "/infiniband/mlx5_0/ports/1/rate",
		ibDir + "/infiniband_verbs/uverbs0/ibdev",
		ibDir + "/net/ibp24s0/address",
		"sys/class/net/ibp24s0",
		"sys/bus/pci/drivers/mlx5_core",
		"proc/cpuinfo",
	} {
		if names[want] == nil {
			t.Errorf("the archive lacks %s", want)
		}
	}
	if names["proc/self/mounts"] != nil {
		t.Error("the archive holds the mount table")
	}
}

func TestCaptureErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.tar.gz")
	for _, root := range []string{"/nonexistent/root", t.TempDir()} {
		if err := Capture(root, out); err == nil {
			t.Errorf("Capture(%s) succeeded", root)
		}
	}
	tr := newTree(t).twoSockets()
	if err := Capture(tr.root, filepath.Join(t.TempDir(), "missing-dir", "x.tar.gz")); err == nil {
		t.Error("Capture into a missing directory succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed capture left an archive behind")
	}
}
