package trace

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
)

// Pod list columns.
const (
	colName      = "name"
	colNumGPU    = "num_gpu"
	colGPUMilli  = "gpu_milli"
	colGPUSpec   = "gpu_spec"
	colQoS       = "qos"
	colPhase     = "pod_phase"
	colCreation  = "creation_time"
	colDeletion  = "deletion_time"
	colScheduled = "scheduled_time"
)

// podColumns: the first five are in every openb pod list; the others are
// absent from openb_pod_list_multigpu20.csv.
var podColumns = []column{
	{colName, true}, {colCPUMilli, true}, {colMemory, true}, {colNumGPU, true}, {colGPUMilli, true},
	{colGPUSpec, false}, {colQoS, false}, {colPhase, false},
	{colCreation, false}, {colDeletion, false}, {colScheduled, false},
}

// maxPodNameLen bounds a trace pod name; replays name Kubernetes pods by
// event ID, so the trace name only has to be printable.
const maxPodNameLen = 253

// GPUMilliDemand is the pod's GPU demand in thousandths of a GPU (460 for
// a 460 milli-GPU share, 4000 for four whole GPUs); GPUDemand is the same
// in GPUs.
func (p Pod) GPUMilliDemand() int64 {
	if p.NumGPU == 0 {
		return 0
	}
	if p.NumGPU == 1 && p.GPUMilli > 0 && p.GPUMilli < 1000 {
		return p.GPUMilli
	}
	return int64(p.NumGPU) * 1000
}

// Validate checks a pod's fields as ReadPods does (but for the uniqueness
// of names, which concerns a whole list).
func (p Pod) Validate() error {
	if col, detail := p.check(); col != "" {
		return fmt.Errorf("pod %q (line %d): column %s: %s", p.Name, p.Line, col, detail)
	}
	return nil
}

// check reports a pod's first problem as the column it concerns and what
// is wrong with it.
func (p Pod) check() (col, detail string) {
	switch {
	case p.Name == "":
		return colName, "is empty"
	case len(p.Name) > maxPodNameLen || strings.ContainsFunc(p.Name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return colName, fmt.Sprintf("%q is not a pod name (printable, no spaces, at most %d bytes)", p.Name, maxPodNameLen)
	case p.CPUMilli < 0 || p.CPUMilli > maxQuantity:
		return colCPUMilli, fmt.Sprintf("%d is out of range [0, %d]", p.CPUMilli, int64(maxQuantity))
	case p.MemoryMiB < 0 || p.MemoryMiB > maxQuantity:
		return colMemory, fmt.Sprintf("%d is out of range [0, %d]", p.MemoryMiB, int64(maxQuantity))
	case p.NumGPU < 0 || p.NumGPU > maxPodGPUs:
		return colNumGPU, fmt.Sprintf("%d is out of range [0, %d]", p.NumGPU, maxPodGPUs)
	case p.NumGPU == 0 && p.GPUMilli != 0:
		return colGPUMilli, fmt.Sprintf("%d is given although num_gpu is 0 (want 0)", p.GPUMilli)
	case p.NumGPU == 1 && (p.GPUMilli < 1 || p.GPUMilli > 1000):
		return colGPUMilli, fmt.Sprintf("%d is out of range [1, 1000] for a one-GPU pod", p.GPUMilli)
	case p.NumGPU > 1 && p.GPUMilli != 1000:
		return colGPUMilli, fmt.Sprintf("%d is not 1000 although num_gpu is %d (multi-GPU pods take whole GPUs)", p.GPUMilli, p.NumGPU)
	case len(p.GPUSpec) > 0 && p.NumGPU == 0:
		return colGPUSpec, fmt.Sprintf("%q is given although the pod needs no GPU", strings.Join(p.GPUSpec, "|"))
	}
	for _, m := range p.GPUSpec {
		if _, ok := gpuClasses[m]; !ok {
			return colGPUSpec, fmt.Sprintf("unknown GPU model %q (known: %s)", m, knownModels())
		}
	}
	if !p.HasTimes {
		return "", ""
	}
	switch {
	case p.CreationTime < 0 || p.CreationTime > maxTraceTime:
		return colCreation, fmt.Sprintf("%d is out of range [0, %d]", p.CreationTime, int64(maxTraceTime))
	case p.DeletionTime < 0 || p.DeletionTime > maxTraceTime:
		return colDeletion, fmt.Sprintf("%d is out of range [0, %d]", p.DeletionTime, int64(maxTraceTime))
	case p.DeletionTime < p.CreationTime:
		return colDeletion, fmt.Sprintf("%d is before creation_time %d", p.DeletionTime, p.CreationTime)
	case p.Scheduled && (p.ScheduledTime < p.CreationTime || p.ScheduledTime > p.DeletionTime):
		return colScheduled, fmt.Sprintf("%d is outside [creation_time %d, deletion_time %d]", p.ScheduledTime, p.CreationTime, p.DeletionTime)
	}
	return "", ""
}

// ReadPods reads a pod list: the columns name, cpu_milli, memory_mib,
// num_gpu, gpu_milli, and optionally gpu_spec, qos, pod_phase,
// creation_time, deletion_time (those two together or neither) and
// scheduled_time (only with them), in any order; other columns are ignored. file names
// the input in errors.
//
// Rows are checked strictly: integers are plain non-negative decimals; a
// pod without GPUs has gpu_milli 0 and no gpu_spec; a one-GPU pod's
// gpu_milli is in 1..1000; a multi-GPU pod's is 1000; gpu_spec lists
// known models (see Models) separated by '|'; deletion_time is not before
// creation_time, and scheduled_time (empty for pods never scheduled) lies
// between them; names are unique.
//
// With RejectMalformed the first malformed row fails the read; with
// SkipMalformed such rows are left out and returned as the second result.
func ReadPods(r io.Reader, file string, opts ReadOptions) ([]Pod, []*RowError, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}
	t, err := openTable(r, file, podColumns)
	if err != nil {
		return nil, nil, err
	}
	hasTimes := t.has(colCreation)
	switch {
	case hasTimes != t.has(colDeletion):
		return nil, nil, &RowError{File: file, Line: t.line,
			Detail: "the header names only one of creation_time and deletion_time (want both or neither)"}
	case t.has(colScheduled) && !hasTimes:
		return nil, nil, &RowError{File: file, Line: t.line,
			Detail: "the header names scheduled_time without creation_time and deletion_time"}
	}
	var (
		pods    []Pod
		skipped []*RowError
	)
	seen := map[string]int{}
	err = readRows(t, opts, &skipped, func(rw *row) {
		p := Pod{
			Name:      rw.text(colName),
			CPUMilli:  rw.integer(colCPUMilli, maxQuantity),
			MemoryMiB: rw.integer(colMemory, maxQuantity),
			NumGPU:    int(rw.integer(colNumGPU, maxPodGPUs)),
			GPUMilli:  rw.integer(colGPUMilli, 1000),
			GPUSpec:   rw.gpuSpec(),
			QoS:       rw.text(colQoS),
			Phase:     rw.text(colPhase),
			HasTimes:  hasTimes,
			Line:      t.line,
		}
		if hasTimes {
			p.CreationTime = rw.integer(colCreation, maxTraceTime)
			p.DeletionTime = rw.integer(colDeletion, maxTraceTime)
		}
		p.ScheduledTime, p.Scheduled = rw.optionalInteger(colScheduled, maxTraceTime)
		if rw.err != nil {
			return
		}
		if col, detail := p.check(); col != "" {
			rw.fail(col, "%s", detail)
			return
		}
		if prev, dup := seen[p.Name]; dup {
			rw.fail(colName, "%q duplicates the pod of line %d", p.Name, prev)
			return
		}
		seen[p.Name] = p.Line
		pods = append(pods, p)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(pods) == 0 {
		return nil, nil, noRows(t, skipped)
	}
	return pods, skipped, nil
}

// gpuSpec splits the gpu_spec field. A model listed twice (which the
// traces do, "V100M16|V100M32|V100M32") is kept once, in first-seen order.
func (r *row) gpuSpec() []string {
	s := r.str(colGPUSpec)
	if s == "" {
		return nil
	}
	var out []string
	for _, m := range strings.Split(s, "|") {
		if m == "" {
			r.fail(colGPUSpec, "%q has an empty model name", s)
			return nil
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
