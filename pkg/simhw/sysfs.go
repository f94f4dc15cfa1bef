package simhw

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteSysfs writes a fake sysfs tree for the machine under root, so that
// code reading sysfs from a different root sees this machine's topology:
//
//   - root/sys/devices/system/cpu: one cpuN per logical CPU with topology/
//     (physical_package_id, die_id, core_id, thread_siblings(_list),
//     core_cpus_list, core_siblings_list, package_cpus_list) and a nodeM
//     link, plus online/possible/present;
//   - root/sys/devices/system/node: nodeN with cpulist, cpumap, meminfo,
//     distance, hugepages/ and cpuM links, plus online/possible/has_*;
//   - root/sys/devices/pciDDDD:BB/...: each GPU behind its own root port
//     (and behind a PCIe switch when the bus numbers leave room for one),
//     with vendor, device, class, numa_node, local_cpulist, modalias, link
//     speed files; root/sys/bus/pci/devices/<addr> relative links to every
//     PCI function, as Linux has them; root/sys/class/drm/cardN links;
//   - root/proc/cpuinfo and root/proc/meminfo, which ghw reads next to sysfs.
//
// Readers: k8s.io/dynamic-resource-allocation/deviceattribute takes the
// sysfs directory itself, i.e. WithFSFromRoot(filepath.Join(root, "sys"));
// github.com/jaypipes/ghw takes root as its chroot.
//
// root/sys must not exist yet, so that trees of two machines never mix and
// a mistaken root of "/" cannot touch the real /sys.
func (m *Machine) WriteSysfs(root string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("writing sysfs: invalid machine: %w", err)
	}
	if root == "" {
		return errors.New("writing sysfs: root is empty")
	}
	sys := filepath.Join(root, "sys")
	if _, err := os.Lstat(sys); err == nil {
		return fmt.Errorf("writing sysfs for machine %q: %s already exists", m.Name, sys)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing sysfs for machine %q: %w", m.Name, err)
	}
	w := &treeWriter{root: root}
	steps := []struct {
		what string
		fn   func(*treeWriter) error
	}{
		{"CPUs", m.writeCPUs},
		{"NUMA nodes", m.writeNodes},
		{"PCI devices", m.writePCI},
		{"/proc", m.writeProc},
	}
	for _, s := range steps {
		if err := s.fn(w); err != nil {
			return fmt.Errorf("writing sysfs for machine %q: %s: %w", m.Name, s.what, err)
		}
	}
	return nil
}

// treeWriter creates files and links below root; paths are slash-separated
// and relative to root.
type treeWriter struct {
	root string
}

func (w *treeWriter) path(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// file writes content plus the trailing newline every sysfs attribute has.
func (w *treeWriter) file(rel, content string) error {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content+"\n"), 0o644)
}

// raw writes content verbatim, for multi-line files that already end in a
// newline.
func (w *treeWriter) raw(rel, content string) error {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

func (w *treeWriter) dir(rel string) error {
	return os.MkdirAll(w.path(rel), 0o755)
}

// link makes rel a relative symlink to target (both relative to root), the
// way sysfs links are relative, so the tree stays valid wherever it lives
// and readers that resolve links themselves (deviceattribute) see real
// sysfs shapes.
func (w *treeWriter) link(rel, target string) error {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	to, err := filepath.Rel(filepath.Dir(p), w.path(target))
	if err != nil {
		return err
	}
	return os.Symlink(to, p)
}

// cpuList formats ascending ids the way sysfs lists do: "0-55,112-167".
func cpuList(ids []int) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ids[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ids[j]))
		}
		i = j + 1
	}
	return b.String()
}

// cpuMask formats ids as a sysfs bitmap of nbits bits: comma-separated
// 32-bit hex groups, most significant first, the first group only as wide
// as the bits it holds ("ff,ffffffff" for 40 bits).
func cpuMask(ids []int, nbits int) string {
	groups := (nbits + 31) / 32
	words := make([]uint32, groups)
	for _, id := range ids {
		words[id/32] |= 1 << (uint(id) % 32)
	}
	parts := make([]string, groups)
	for i := range parts {
		word := words[groups-1-i]
		if i == 0 {
			digits := ((nbits-1)%32)/4 + 1
			parts[i] = fmt.Sprintf("%0*x", digits, word)
			continue
		}
		parts[i] = fmt.Sprintf("%08x", word)
	}
	return strings.Join(parts, ",")
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
