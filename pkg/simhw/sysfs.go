package simhw

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"k8s.io/utils/cpuset"
)

// WriteSysfs writes a fake sysfs tree for the machine under root, so that
// code reading sysfs from a different root sees this machine's topology:
//
//   - root/sys/devices/system/cpu: one cpuN per logical CPU with topology/
//     (physical_package_id, die_id, core_id, thread_siblings(_list),
//     core_cpus_list, core_siblings_list, package_cpus_list),
//     cache/index2-3 (L2 per core, L3 per CPU.CoresPerL3 cores: level,
//     type, size, id, shared_cpu_list) and a nodeM link, plus
//     online/possible/present;
//   - root/sys/devices/system/node: nodeN with cpulist, cpumap, meminfo,
//     distance, hugepages/ and cpuM links, plus online/possible/has_*;
//   - root/sys/devices/pciDDDD:BB/...: each GPU and NIC function behind its
//     own root port, a GPU behind a PCIe switch when the bus numbers leave
//     room for one, and a NIC with a pairedGPU behind that GPU's switch;
//     each with vendor, device, class, numa_node, local_cpulist, modalias,
//     link speed files, a driver link (nvidia, mlx5_core, igc) and a
//     subsystem link; root/sys/bus/pci/devices/<addr> relative links to
//     every PCI function, as Linux has them; root/sys/class/drm/cardN links;
//   - for each NIC, <function>/net/<interface> (address, type, mtu, speed,
//     operstate, ...) linked from root/sys/class/net, and for RDMA NICs
//     <function>/infiniband/mlx5_N (node_type, node_guid, ports/1/
//     link_layer, rate, state, phys_state) and infiniband_verbs/uverbsN
//     (ibdev, dev), linked from root/sys/class/infiniband and
//     infiniband_verbs, plus infiniband_verbs/abi_version and
//     root/sys/class/misc/rdma_cm/dev;
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
		{"CPU caches", m.writeCaches},
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

// attr is one sysfs attribute file: its name relative to a directory and
// its content without the trailing newline.
type attr struct{ name, content string }

// attrs writes the attribute files of one directory (names may hold a
// subdirectory, "topology/core_id"). It makes each directory once: trees
// hold thousands of attributes, and the time to write them is mostly
// system calls.
func (w *treeWriter) attrs(dir string, as []attr) error {
	base := w.path(dir)
	made := map[string]bool{}
	for _, a := range as {
		p := filepath.Join(base, filepath.FromSlash(a.name))
		if d := filepath.Dir(p); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		if err := writeAttrFile(p, []byte(a.content+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// writeAttrFile creates path with data. It makes the system calls itself:
// os.WriteFile also tries to register each file with the runtime's poller,
// which costs several more system calls per file, and a DGX tree has five
// to six thousand small files.
func writeAttrFile(path string, data []byte) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	n, err := syscall.Write(fd, data)
	if err == nil && n < len(data) {
		err = io.ErrShortWrite
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// file writes content plus the trailing newline every sysfs attribute has.
func (w *treeWriter) file(rel, content string) error {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeAttrFile(p, []byte(content+"\n"))
}

// raw writes content verbatim, for multi-line files that already end in a
// newline.
func (w *treeWriter) raw(rel, content string) error {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeAttrFile(p, []byte(content))
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

// symlink is a link at "at" to "to", both relative to the root.
type symlink struct{ at, to string }

// links makes each link as link does.
func (w *treeWriter) links(ls []symlink) error {
	for _, l := range ls {
		if err := w.link(l.at, l.to); err != nil {
			return err
		}
	}
	return nil
}

// cpuList formats ids the way sysfs lists do, "0-55,112-167": the format
// of cpuset.CPUSet, which the topology readers parse into.
func cpuList(ids []int) string {
	return cpuset.New(ids...).String()
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
