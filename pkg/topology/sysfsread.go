package topology

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"k8s.io/utils/cpuset"
)

// maxAttrBytes bounds one attribute read. sysfs attributes are at most a
// page; the bound keeps a wrong root (a tree with a huge file, or a link
// to /dev/zero, where an attribute should be) from filling memory.
const maxAttrBytes = 64 << 10

// reader reads files below root and records what it could not read as
// warnings. Paths given to it are slash-separated and relative to root
// ("sys/devices/system/cpu/online"), which is also how warnings name them.
//
// Reads go through the operating system, which follows symbolic links
// itself; sysfs links are relative, so they stay below root. The links
// discovery follows on purpose (PCI devices, drivers) are resolved by
// resolve, which keeps them below root even when they are absolute.
type reader struct {
	root     string
	warnings []Warning
	// lists memoizes parsed CPU lists by content: the CPUs of a core or
	// an L3 all hold the same list, and sets are never modified.
	lists map[string]cpuset.CPUSet
}

func (r *reader) abs(rel string) string {
	return filepath.Join(r.root, filepath.FromSlash(rel))
}

// warn records that rel could not be used; msg says why and what
// discovery did instead.
func (r *reader) warn(rel, format string, args ...any) {
	r.warnings = append(r.warnings, Warning{Path: rel, Message: fmt.Sprintf(format, args...)})
}

// readFile returns the content of rel, at most limit bytes. It never
// blocks on a FIFO (O_NONBLOCK: open returns at once and a read finds no
// data) and reads a device no further than limit; a directory fails with
// EISDIR. Those are never sysfs attributes, and the warnings for their
// empty or odd content say so.
func (r *reader) readFile(rel string, limit int64) ([]byte, error) {
	f, err := r.open(rel)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// open opens rel for reading without blocking on a FIFO.
func (r *reader) open(rel string) (*os.File, error) {
	return os.OpenFile(r.abs(rel), os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// why turns a read error into a short reason for a warning: the path is
// already in the warning, so the *PathError wrapping is dropped.
func why(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.As(err, &pe):
		return pe.Err.Error()
	default:
		return err.Error()
	}
}

// attr returns the trimmed content of the attribute rel. A file that
// cannot be read is a warning, completed with orElse: what discovery does
// without it.
func (r *reader) attr(rel, orElse string) (string, bool) {
	data, err := r.readFile(rel, maxAttrBytes)
	if err != nil {
		r.warn(rel, "%s; %s", why(err), orElse)
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// optAttr is attr for attributes that legitimately do not exist on every
// machine or device: a missing file is no warning, but anything else
// that keeps it from being read (a dangling link, a directory, an I/O
// error) is.
func (r *reader) optAttr(rel, orElse string) (string, bool) {
	data, err := r.readFile(rel, maxAttrBytes)
	if err == nil {
		return strings.TrimSpace(string(data)), true
	}
	if errors.Is(err, fs.ErrNotExist) {
		if fi, lerr := os.Lstat(r.abs(rel)); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			r.warn(rel, "dangling link; %s", orElse)
		}
		return "", false
	}
	r.warn(rel, "%s; %s", why(err), orElse)
	return "", false
}

// intAttr reads an attribute holding one decimal integer.
func (r *reader) intAttr(rel, orElse string) (int, bool) {
	s, ok := r.attr(rel, orElse)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		r.warn(rel, "not an integer: %s; %s", quote(s), orElse)
		return 0, false
	}
	return v, true
}

// cpuListAttr reads a CPU list attribute ("0-3,8").
func (r *reader) cpuListAttr(rel string, optional bool, orElse string) (cpuset.CPUSet, bool) {
	read := r.attr
	if optional {
		read = r.optAttr
	}
	s, ok := read(rel, orElse)
	if !ok {
		return cpuset.CPUSet{}, false
	}
	if set, ok := r.lists[s]; ok {
		return set, true
	}
	set, err := parseCPUList(s)
	if err != nil {
		r.warn(rel, "not a CPU list: %v; %s", err, orElse)
		return cpuset.CPUSet{}, false
	}
	if r.lists == nil {
		r.lists = map[string]cpuset.CPUSet{}
	}
	r.lists[s] = set
	return set, true
}

// readDir lists the directory rel, sorted by name.
func (r *reader) readDir(rel string) ([]fs.DirEntry, error) {
	return os.ReadDir(r.abs(rel))
}

// optDir is readDir for directories that legitimately do not exist on
// every machine or device: a missing one lists nothing without a warning,
// but anything else that keeps it from being read is a warning, completed
// with orElse.
func (r *reader) optDir(rel, orElse string) []fs.DirEntry {
	entries, err := r.readDir(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		r.warn(rel, "%s; %s", why(err), orElse)
		return nil
	}
	return entries
}

// numbered returns the numbers N of the directory entries named
// prefix+N, ascending; entries with other names are skipped.
func numbered(entries []fs.DirEntry, prefix string) []int {
	var ids []int
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !allDigits(digits) {
			continue
		}
		if n, err := strconv.Atoi(digits); err == nil {
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	return ids
}

// resolve follows the symbolic link rel and returns its target relative
// to root. An absolute target is taken relative to root, the way it reads
// on the machine the tree comes from; a target that climbs out of root is
// an error. The target is not required to exist.
func (r *reader) resolve(rel string) (string, error) {
	target, err := os.Readlink(r.abs(rel))
	if err != nil {
		return "", err
	}
	target = filepath.ToSlash(target)
	var joined string
	if path.IsAbs(target) {
		joined = path.Clean(strings.TrimPrefix(target, "/"))
	} else {
		joined = path.Join(path.Dir(rel), target)
	}
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "", fmt.Errorf("link target %s leaves the root", quote(target))
	}
	return joined, nil
}

// missing reports whether rel does not exist at all (not even as a
// dangling link).
func (r *reader) missing(rel string) bool {
	_, err := os.Lstat(r.abs(rel))
	return errors.Is(err, fs.ErrNotExist)
}

// exists reports whether rel exists (following links).
func (r *reader) exists(rel string) bool {
	_, err := os.Stat(r.abs(rel))
	return err == nil
}

// quote shows file content in a warning: quoted, and cut short so that a
// garbage file cannot flood the log.
func quote(s string) string {
	const shown = 40
	if len(s) > shown {
		return strconv.Quote(s[:shown]) + "..."
	}
	return strconv.Quote(s)
}

// perCPUPath matches the per-CPU directories whose warnings compact merges.
var perCPUPath = regexp.MustCompile(`^(sys/devices/system/cpu/cpu)(\d+)(/.*)?$`)

// compact merges warnings that differ only in the CPU number of a
// sys/devices/system/cpu/cpuN path: a machine whose CPUs all lack the
// same file gets one warning naming the files as cpu* and listing the
// CPUs, not hundreds of lines. Warnings keep the order of their first
// occurrence.
func compact(ws []Warning) []Warning {
	type key struct{ suffix, msg string }
	cpus := map[key][]int{}
	var out []Warning
	first := map[key]int{}
	for _, w := range ws {
		m := perCPUPath.FindStringSubmatch(w.Path)
		if m == nil {
			out = append(out, w)
			continue
		}
		id, err := strconv.Atoi(m[2])
		if err != nil {
			out = append(out, w)
			continue
		}
		k := key{m[3], w.Message}
		if _, seen := first[k]; !seen {
			first[k] = len(out)
			out = append(out, w)
		}
		cpus[k] = append(cpus[k], id)
	}
	for k, i := range first {
		ids := cpus[k]
		if len(ids) < 2 {
			continue
		}
		out[i] = Warning{
			Path:    "sys/devices/system/cpu/cpu*" + k.suffix,
			Message: fmt.Sprintf("%s (CPUs %s)", k.msg, cpuset.New(ids...).String()),
		}
	}
	return out
}
