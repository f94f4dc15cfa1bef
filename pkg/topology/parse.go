package topology

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"k8s.io/utils/cpuset"
)

// maxCPUID bounds the CPU ids a list may name. Linux's NR_CPUS is at most
// 8192 today; the bound is far above it and keeps garbage such as
// "0-2147483647" from making discovery build a set of two billion CPUs.
const maxCPUID = 1<<16 - 1

// parseCPUList parses a sysfs CPU list ("0-3,8,10-11"), the format of
// cpu/online, nodeN/cpulist, thread_siblings_list and shared_cpu_list.
// The empty list is valid (cpu/offline on a machine with every CPU
// online). Unlike cpuset.Parse it bounds ids and requires the ascending,
// non-overlapping ranges the kernel writes, so any input costs at most
// maxCPUID+1 insertions.
func parseCPUList(s string) (cpuset.CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return cpuset.New(), nil
	}
	var ids []int
	next := 0 // lowest id the next range may start at
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseCPUID(lo)
		if err != nil {
			return cpuset.CPUSet{}, err
		}
		last := first
		if isRange {
			if last, err = parseCPUID(hi); err != nil {
				return cpuset.CPUSet{}, err
			}
			if last < first {
				return cpuset.CPUSet{}, fmt.Errorf("range %s is descending", quote(part))
			}
		}
		if first < next {
			return cpuset.CPUSet{}, fmt.Errorf("%s is not above the previous range", quote(part))
		}
		for id := first; id <= last; id++ {
			ids = append(ids, id)
		}
		next = last + 1
	}
	return cpuset.New(ids...), nil
}

func parseCPUID(s string) (int, error) {
	if !allDigits(s) {
		return 0, fmt.Errorf("%s is not a CPU number", quote(s))
	}
	id, err := strconv.Atoi(s)
	if err != nil || id > maxCPUID {
		return 0, fmt.Errorf("CPU number %s is out of range", quote(s))
	}
	return id, nil
}

// allDigits reports whether s is a non-empty run of ASCII digits: unlike
// strconv.Atoi it refuses signs, which no sysfs id carries.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseHex parses a sysfs hexadecimal attribute ("0x10de", "0x030200")
// of at most bits bits.
func parseHex(s string, bits int) (uint64, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if digits == "" || strings.HasPrefix(digits, "+") || strings.HasPrefix(digits, "-") {
		return 0, fmt.Errorf("%s is not a hexadecimal number", quote(s))
	}
	v, err := strconv.ParseUint(digits, 16, bits)
	if err != nil {
		return 0, fmt.Errorf("%s is not a %d-bit hexadecimal number", quote(s), bits)
	}
	return v, nil
}

// parseMemTotal returns the MemTotal line of a meminfo file in bytes. It
// reads both /proc/meminfo ("MemTotal:  32780412 kB") and the per-node
// form ("Node 0 MemTotal:  32780412 kB").
func parseMemTotal(content string) (int64, error) {
	for line := range strings.SplitSeq(content, "\n") {
		fields := strings.Fields(line)
		for i, f := range fields {
			if f != "MemTotal:" {
				continue
			}
			rest := fields[i+1:]
			if len(rest) != 2 || rest[1] != "kB" {
				return 0, fmt.Errorf("MemTotal line %s is not \"<n> kB\"", quote(strings.TrimSpace(line)))
			}
			kib, err := strconv.ParseInt(rest[0], 10, 64)
			if err != nil || kib < 0 || kib > math.MaxInt64/1024 {
				return 0, fmt.Errorf("MemTotal %s is not a size in kB", quote(rest[0]))
			}
			return kib * 1024, nil
		}
	}
	return 0, errors.New("no MemTotal line")
}

// parseDistances parses a NUMA node's distance row ("10 21 21 10").
// ACPI SLIT distances are bytes; 10 means local.
func parseDistances(s string) ([]int, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, errors.New("empty distance row")
	}
	out := make([]int, len(fields))
	for i, f := range fields {
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || d > 255 {
			return nil, fmt.Errorf("%s is not a NUMA distance", quote(f))
		}
		out[i] = d
	}
	return out, nil
}

// parseRate parses an RDMA port rate ("400 Gb/sec (4X NDR)",
// "2.5 Gb/sec (1X SDR)") into whole Gb/s, rounded down.
func parseRate(s string) (int64, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 || fields[1] != "Gb/sec" {
		return 0, fmt.Errorf("%s is not \"<n> Gb/sec ...\"", quote(s))
	}
	g, err := strconv.ParseFloat(fields[0], 64)
	// The bound is far above any link (the fastest ports run at 800
	// Gb/s) and keeps the conversion to int64 defined.
	if err != nil || math.IsNaN(g) || g < 0 || g > 1e9 {
		return 0, fmt.Errorf("%s is not a rate in Gb/s", quote(fields[0]))
	}
	return int64(g), nil
}

// parseSpeed parses a netdev's speed attribute in Mb/s. The kernel writes
// -1 (SPEED_UNKNOWN) when the link is down or the driver cannot tell, and
// some drivers write it as the unsigned 4294967295; both mean unknown,
// reported as 0.
func parseSpeed(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a speed in Mb/s", quote(s))
	}
	switch {
	case v == -1 || v == math.MaxUint32:
		return 0, nil
	case v < 0:
		return 0, fmt.Errorf("%s is not a speed in Mb/s", quote(s))
	}
	return v, nil
}

// maxCPUInfoBytes bounds how much of /proc/cpuinfo is read: a few MiB on
// machines with a thousand CPUs, and the model is in the first lines.
const maxCPUInfoBytes = 16 << 20

// parseModelName returns the "model name" of the first processor in a
// /proc/cpuinfo, reading no further than that processor's block: x86
// writes the field for every CPU, other architectures name it otherwise
// or not at all, and then "" is returned.
func parseModelName(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	// The flags line of a recent x86 CPU is about 1.5 KiB.
	sc.Buffer(make([]byte, 0, 16<<10), 1<<20)
	inBlock := false
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if inBlock {
				return "", nil
			}
			continue
		}
		inBlock = true
		if key, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value), nil
		}
	}
	return "", sc.Err()
}
