package topology

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/jaypipes/ghw/pkg/snapshot"
)

// maxCaptureBytes bounds one captured file: /proc/cpuinfo of a machine
// with a thousand CPUs is a few MiB, every sysfs attribute far less.
const maxCaptureBytes = 16 << 20

// Capture copies the files Discover reads from the machine at root ("" or
// "/" for the host) into the gzip-compressed tar archive outTarGz, which
// github.com/jaypipes/ghw/pkg/snapshot.Unpack reads, so that a real
// machine can become a test fixture: unpack it and Discover the directory.
//
// The archive holds what ghw's snapshots hold for CPUs, caches, memory
// and NUMA nodes, every PCI function's identity and NUMA node, and for
// network functions their netdev, InfiniBand and verbs attributes, which
// ghw's snapshots lack. It leaves out what identifies the machine rather
// than describes it: MAC addresses are replaced with made-up ones of the
// same length, and neither the mount table, serial numbers nor GUIDs are
// read. Files the kernel refuses to read (the speed of a link that is
// down) are left out; discovery treats them the same way. The archive is
// reproducible: entries are sorted and carry no times or owners.
func Capture(root, outTarGz string) error {
	if root == "" {
		root = "/"
	}
	root = filepath.Clean(root)
	if fi, err := os.Stat(root); err != nil {
		return fmt.Errorf("capturing %s: %w", root, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("capturing %s: not a directory", root)
	}
	scratch, err := os.MkdirTemp("", "hadron-capture-*")
	if err != nil {
		return fmt.Errorf("capturing %s: %w", root, err)
	}
	defer func() { _ = os.RemoveAll(scratch) }()

	c := &capturer{src: &reader{root: root}, dst: scratch}
	for _, pattern := range captureGlobs() {
		if err := c.glob(pattern); err != nil {
			return fmt.Errorf("capturing %s: %w", root, err)
		}
	}
	if err := c.pciDevices(); err != nil {
		return fmt.Errorf("capturing %s: %w", root, err)
	}
	for _, class := range []string{"net", "infiniband", "infiniband_verbs", "drm"} {
		if err := c.classLinks("sys/class/" + class); err != nil {
			return fmt.Errorf("capturing %s: %w", root, err)
		}
	}
	if c.files == 0 {
		return fmt.Errorf("capturing %s: found none of the sysfs or proc files discovery reads", root)
	}
	if err := packTree(scratch, outTarGz); err != nil {
		return fmt.Errorf("capturing %s into %s: %w", root, outTarGz, err)
	}
	return nil
}

// captureGlobs returns the patterns, relative to root, of the files that
// do not depend on the PCI layout: ghw's own list (so that ghw can read
// the archive too) and what Discover reads beyond it.
func captureGlobs() []string {
	var out []string
	for _, p := range snapshot.ExpectedCloneStaticContent() {
		// The mount table describes file systems, not hardware, and names
		// the host's directories.
		if p == "/proc/self/mounts" {
			continue
		}
		out = append(out, strings.TrimPrefix(p, "/"))
	}
	return append(out,
		cpuDir+"/online", cpuDir+"/offline", cpuDir+"/possible", cpuDir+"/present",
		cpuDir+"/cpu*/online", cpuDir+"/cpu*/node*",
		nodeDir+"/node*/cpulist",
		// Empty directories, for the names the driver links point at.
		"sys/bus/pci/drivers/*",
	)
}

// Attributes captured for every PCI function: ghw's list plus the
// subsystem ids and link state.
var pciAttrs = []string{
	"class", "vendor", "device", "subsystem_vendor", "subsystem_device", "revision",
	"numa_node", "local_cpulist", "modalias", "irq", "driver", "iommu_group",
	"current_link_speed", "current_link_width", "max_link_speed", "max_link_width",
}

// Attributes captured below network functions, relative to their
// directory.
var nicGlobs = []string{
	"net/*/address", "net/*/speed", "net/*/operstate", "net/*/addr_assign_type", "net/*/type",
	"net/*/dev_port", "net/*/mtu",
	"virtio*/net/*/address", "virtio*/net/*/speed", "virtio*/net/*/operstate", "virtio*/net/*/type",
	"infiniband/*/ports/*/link_layer", "infiniband/*/ports/*/rate",
	"infiniband/*/ports/*/state", "infiniband/*/ports/*/phys_state",
	"infiniband_verbs/*/ibdev", "infiniband_verbs/*/dev", "infiniband_verbs/*/abi_version",
	"drm/card*/device",
}

// capturer copies files from src's root into dst, keeping their paths.
type capturer struct {
	src   *reader
	dst   string
	files int
	macs  int
}

// glob copies every path matching pattern (relative to the root).
func (c *capturer) glob(pattern string) error {
	matches, err := fs.Glob(os.DirFS(c.src.root), pattern)
	if err != nil {
		return fmt.Errorf("pattern %s: %w", pattern, err)
	}
	for _, rel := range matches {
		if err := c.copy(rel); err != nil {
			return err
		}
	}
	return nil
}

// pciDevices copies sys/bus/pci/devices with, for each function, its
// directory's attributes.
func (c *capturer) pciDevices() error {
	entries, err := c.src.readDir(pciDevicesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%s: %w", pciDevicesDir, err)
	}
	for _, e := range entries {
		link := pciDevicesDir + "/" + e.Name()
		if err := c.copy(link); err != nil {
			return err
		}
		dir, err := c.src.resolve(link)
		if err != nil || !c.src.exists(dir) {
			continue // nothing below a broken link to copy
		}
		for _, attr := range pciAttrs {
			if err := c.copy(dir + "/" + attr); err != nil {
				return err
			}
		}
		for _, pattern := range nicGlobs {
			if err := c.glob(dir + "/" + pattern); err != nil {
				return err
			}
		}
	}
	return nil
}

// classLinks copies the links of a sys/class directory that point at PCI
// functions, and makes their targets exist: ghw enumerates netdevs and
// GPUs from there. Virtual devices (lo, bridges) are left out.
func (c *capturer) classLinks(dir string) error {
	entries, err := c.src.readDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, e := range entries {
		link := dir + "/" + e.Name()
		target, err := c.src.resolve(link)
		if err != nil || !strings.HasPrefix(target, "sys/devices/pci") {
			continue
		}
		if err := os.MkdirAll(c.dstPath(target), 0o755); err != nil {
			return err
		}
		if err := c.copy(link); err != nil {
			return err
		}
	}
	return nil
}

func (c *capturer) dstPath(rel string) string {
	return filepath.Join(c.dst, filepath.FromSlash(rel))
}

// copy copies one path: links as links (absolute targets made relative,
// so that the archive stays inside itself), directories as empty
// directories (ghw looks at the names below sys/bus/pci/drivers), regular
// files with their content. Missing or unreadable files are skipped.
func (c *capturer) copy(rel string) error {
	fi, err := os.Lstat(c.src.abs(rel))
	if err != nil {
		return nil
	}
	to := c.dstPath(rel)
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(c.src.abs(rel))
		if err != nil {
			return nil
		}
		if path.IsAbs(filepath.ToSlash(target)) {
			target, err = filepath.Rel(filepath.Dir(filepath.FromSlash(rel)), strings.TrimPrefix(target, "/"))
			if err != nil {
				return nil
			}
		}
		if err := os.Symlink(target, to); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case fi.IsDir():
		return os.MkdirAll(to, 0o755)
	case fi.Mode().IsRegular():
		data, err := c.src.readFile(rel, maxCaptureBytes)
		if err != nil {
			return nil
		}
		if path.Base(path.Dir(path.Dir(rel))) == "net" && path.Base(rel) == "address" {
			data = c.fakeMAC(data)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
		c.files++
	}
	return nil
}

// fakeMAC replaces a hardware address with a locally administered one of
// the same length, numbered in capture order: 02:00:00:00:00:01, ...
func (c *capturer) fakeMAC(data []byte) []byte {
	octets := strings.Count(strings.TrimSpace(string(data)), ":") + 1
	c.macs++
	parts := make([]string, octets)
	for i := range parts {
		parts[i] = "00"
	}
	parts[0] = "02"
	parts[octets-1] = fmt.Sprintf("%02x", c.macs%256)
	return []byte(strings.Join(parts, ":") + "\n")
}

// packTree writes the tree at dir as a gzip-compressed tar archive to out,
// through a temporary file renamed into place, so that a failed capture
// leaves no truncated archive behind. Entries are in lexical order, as
// ghw's unpacker needs directories before their contents, and carry no
// times or owners.
func packTree(dir, out string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".capture-*.tar.gz")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		return addEntry(tw, p, filepath.ToSlash(rel), d)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private; an archive is meant to be shared.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func addEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
		return tw.WriteHeader(hdr)
	case d.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		return tw.WriteHeader(hdr)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
