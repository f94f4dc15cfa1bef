package driverbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Memory is a process's resident memory, in bytes.
type Memory struct {
	// RSS is the resident set now (VmRSS), HWM its peak so far (VmHWM).
	RSS, HWM int64
}

// readMemory reads a running process's memory from /proc/<pid>/status.
func readMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	m, err := parseMemory(data)
	if err != nil {
		return Memory{}, fmt.Errorf("process %d: %w", pid, err)
	}
	return m, nil
}

// parseMemory reads VmRSS and VmHWM from the text of /proc/<pid>/status.
func parseMemory(status []byte) (Memory, error) {
	fields := parseFields(status)
	var m Memory
	for _, f := range []struct {
		key string
		to  *int64
	}{{"VmRSS", &m.RSS}, {"VmHWM", &m.HWM}} {
		v, ok := fields[f.key]
		if !ok {
			return Memory{}, fmt.Errorf("status has no %s line", f.key)
		}
		n, err := parseKiB(v)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.to = n
	}
	return m, nil
}

// parseFields reads "Key: value" lines, as in /proc/<pid>/status,
// /proc/meminfo and /proc/cpuinfo. The first line of a key wins (cpuinfo
// repeats every key per CPU); lines without a colon are skipped.
func parseFields(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		if _, dup := out[key]; !dup && key != "" {
			out[key] = strings.TrimSpace(value)
		}
	}
	return out
}

// parseKiB reads a "<n> kB" value of the kernel's, returning bytes.
func parseKiB(v string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
	if strings.TrimSpace(unit) != "kB" {
		return 0, fmt.Errorf("value %q is not in kB", v)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<53)/1024 {
		return 0, fmt.Errorf("value %q is not a size in kB", v)
	}
	return n * 1024, nil
}

// hostDescription describes the machine that ran the benchmark without
// naming it: CPU model, CPUs, memory and Go version.
func hostDescription() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := parseFields(data)["model name"]; m != "" {
			model = m
		}
	}
	desc := fmt.Sprintf("%s, %d CPUs (%s/%s)", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if total, err := parseKiB(parseFields(data)["MemTotal"]); err == nil {
			desc += fmt.Sprintf(", %.1f GiB memory", float64(total)/(1<<30))
		}
	}
	return desc + ", " + runtime.Version()
}
