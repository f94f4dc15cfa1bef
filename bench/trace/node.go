package trace

import (
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Limits of what a simulated machine holds (pkg/simhw's own bounds, or
// tighter), checked when reading so that a row no machine can represent
// fails with its line rather than later, without one.
const (
	maxNodeGPUs     = 64
	maxNodeCPUMilli = 8192 * 1000 // simhw's 8192 logical CPUs
	maxNodeMemMiB   = 1 << 32     // simhw's 4 Mi GiB
	maxPodGPUs      = maxNodeGPUs // more fits no node
	maxQuantity     = 1 << 53     // pod CPU and memory: exact as float64
	maxTraceTime    = 1 << 53
)

// Node list columns.
const (
	colSN       = "sn"
	colCPUMilli = "cpu_milli"
	colMemory   = "memory_mib"
	colGPU      = "gpu"
	colModel    = "model"
)

var nodeColumns = []column{
	{colSN, true}, {colCPUMilli, true}, {colMemory, true}, {colGPU, true}, {colModel, true},
}

// dnsSubdomain is a Kubernetes object name (RFC 1123 subdomain): node
// names become Kubernetes node names.
var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Validate checks a node's fields as ReadNodes does (but for the
// uniqueness of names, which concerns a whole list).
func (n Node) Validate() error {
	if col, detail := n.check(); col != "" {
		return fmt.Errorf("node %q (line %d): column %s: %s", n.Name, n.Line, col, detail)
	}
	return nil
}

// check reports a node's first problem as the column it concerns and
// what is wrong with it.
func (n Node) check() (col, detail string) {
	switch {
	case n.Name == "":
		return colSN, "is empty"
	case len(n.Name) > 253 || !dnsSubdomain.MatchString(n.Name):
		return colSN, fmt.Sprintf("%q is not a valid Kubernetes node name (lower-case letters, digits, '-' and '.', at most 253)", n.Name)
	case n.CPUMilli < 1000 || n.CPUMilli > maxNodeCPUMilli:
		return colCPUMilli, fmt.Sprintf("%d is out of range [1000, %d] for a node", n.CPUMilli, maxNodeCPUMilli)
	case n.MemoryMiB < 1 || n.MemoryMiB > maxNodeMemMiB:
		return colMemory, fmt.Sprintf("%d is out of range [1, %d] for a node", n.MemoryMiB, int64(maxNodeMemMiB))
	case n.GPUs < 0 || n.GPUs > maxNodeGPUs:
		return colGPU, fmt.Sprintf("%d is out of range [0, %d]", n.GPUs, maxNodeGPUs)
	case n.GPUs > 0 && n.Model == "":
		return colModel, fmt.Sprintf("is empty although the node has %d GPUs", n.GPUs)
	case n.GPUs == 0 && n.Model != "":
		return colModel, fmt.Sprintf("%q is given although the node has no GPU", n.Model)
	}
	if _, ok := gpuClasses[n.Model]; n.Model != "" && !ok {
		return colModel, fmt.Sprintf("unknown GPU model %q (known: %s)", n.Model, knownModels())
	}
	return "", ""
}

// ReadNodes reads a node list (columns sn, cpu_milli, memory_mib, gpu,
// model, in any order; other columns are ignored). file names the input
// in errors. Names must be unique and valid Kubernetes node names; a node
// has at least one CPU (cpu_milli >= 1000) and some memory; gpu and model
// are both set (a known model, see Models) or both empty/zero.
//
// With RejectMalformed the first malformed row fails the read; with
// SkipMalformed such rows are left out and returned as the second result.
func ReadNodes(r io.Reader, file string, opts ReadOptions) ([]Node, []*RowError, error) {
	if err := opts.validate(); err != nil {
		return nil, nil, err
	}
	t, err := openTable(r, file, nodeColumns)
	if err != nil {
		return nil, nil, err
	}
	var (
		nodes   []Node
		skipped []*RowError
	)
	seen := map[string]int{}
	err = readRows(t, opts, &skipped, func(rw *row) {
		n := Node{
			Name:      rw.text(colSN),
			CPUMilli:  rw.integer(colCPUMilli, maxNodeCPUMilli),
			MemoryMiB: rw.integer(colMemory, maxNodeMemMiB),
			GPUs:      int(rw.integer(colGPU, maxNodeGPUs)),
			Model:     rw.text(colModel),
			Line:      t.line,
		}
		if rw.err != nil {
			return
		}
		if col, detail := n.check(); col != "" {
			rw.fail(col, "%s", detail)
			return
		}
		if prev, dup := seen[n.Name]; dup {
			rw.fail(colSN, "%q duplicates the node of line %d", n.Name, prev)
			return
		}
		seen[n.Name] = n.Line
		nodes = append(nodes, n)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(nodes) == 0 {
		return nil, nil, noRows(t, skipped)
	}
	return nodes, skipped, nil
}

// readRows runs convert on every data line. A row whose conversion
// failed (rw.err set) fails the read or is recorded as skipped, by
// policy; input errors always fail it.
func readRows(t *table, opts ReadOptions, skipped *[]*RowError, convert func(*row)) error {
	for {
		fields, err := t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var (
			rw     *row
			rowErr *RowError
		)
		switch {
		case errors.As(err, &rowErr):
			rw = &row{t: t, err: rowErr}
		case err != nil:
			return err
		default:
			rw = t.rowOf(fields)
			if rw.err == nil {
				convert(rw)
			}
		}
		if rw.err == nil {
			continue
		}
		if opts.Malformed == RejectMalformed {
			return rw.err
		}
		*skipped = append(*skipped, rw.err)
	}
}

// noRows is the error of a file without one valid row.
func noRows(t *table, skipped []*RowError) error {
	if len(skipped) == 0 {
		return &RowError{File: t.file, Line: t.line, Detail: "has a header but no rows"}
	}
	return fmt.Errorf("%s: none of its rows is valid (%d malformed; the first: %w)", t.file, len(skipped), skipped[0])
}
