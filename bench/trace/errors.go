package trace

import "fmt"

// RowError is one problem with one row (or the header) of a trace file.
// Line is 1-based and counts every line of the file, blank ones included,
// so that it points an editor at the offending row.
type RowError struct {
	File string
	Line int
	// Column is the header name of the offending field; empty when the
	// problem is the row as a whole (field count, duplicate name).
	Column string
	Detail string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Detail)
	}
	return fmt.Sprintf("%s:%d: column %s: %s", e.File, e.Line, e.Column, e.Detail)
}

// MalformedRows says what a read does with a row that fails validation.
type MalformedRows int

const (
	// RejectMalformed fails the whole read at the first malformed row,
	// with that row's error.
	RejectMalformed MalformedRows = iota
	// SkipMalformed leaves malformed rows out and returns their errors,
	// in file order, for the report. Problems with the file as a whole
	// (no header, a bad header, an unreadable file, no valid row) still
	// fail the read.
	SkipMalformed
)

func (m MalformedRows) String() string {
	switch m {
	case RejectMalformed:
		return "reject"
	case SkipMalformed:
		return "skip"
	default:
		return fmt.Sprintf("MalformedRows(%d)", int(m))
	}
}

// ReadOptions tune ReadNodes and ReadPods.
type ReadOptions struct {
	Malformed MalformedRows
}

func (o ReadOptions) validate() error {
	if o.Malformed != RejectMalformed && o.Malformed != SkipMalformed {
		return fmt.Errorf("read options: unknown malformed-row policy %v", o.Malformed)
	}
	return nil
}
