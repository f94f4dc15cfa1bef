package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLineBytes bounds one line, so that a file without newlines cannot
// make a read buffer grow without end.
const maxLineBytes = 1 << 20

// table reads a trace file: a header naming the columns, then one row per
// line. The traces are plain comma-separated values without quoting; a
// quote character is reported rather than guessed at, so that a field is
// never silently split or joined differently from what its writer meant.
// Blank lines are ignored.
type table struct {
	file    string
	sc      *bufio.Scanner
	line    int
	columns map[string]int // lower-cased header name -> field index
	width   int
}

// column describes one column a list understands.
type column struct {
	name     string
	required bool
}

// openTable reads the header and checks it names every required column
// once. Columns it does not know are ignored; known ones may come in any
// order.
func openTable(r io.Reader, file string, known []column) (*table, error) {
	t := &table{file: file, sc: bufio.NewScanner(r), columns: map[string]int{}}
	t.sc.Buffer(make([]byte, 0, 64*1024), maxLineBytes)
	header, err := t.next()
	if errors.Is(err, io.EOF) {
		return nil, &RowError{File: file, Line: max(t.line, 1), Detail: "the file is empty (want a header line naming the columns)"}
	}
	if err != nil {
		return nil, err
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark some editors write
	isKnown := map[string]bool{}
	for _, c := range known {
		isKnown[c.name] = true
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !isKnown[name] {
			continue
		}
		if prev, dup := t.columns[name]; dup {
			return nil, &RowError{File: file, Line: t.line, Column: name,
				Detail: fmt.Sprintf("appears twice in the header (fields %d and %d)", prev+1, i+1)}
		}
		t.columns[name] = i
	}
	var missing []string
	for _, c := range known {
		if _, ok := t.columns[c.name]; c.required && !ok {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return nil, &RowError{File: file, Line: t.line,
			Detail: fmt.Sprintf("the header lacks the required column(s) %s (it has %q)", strings.Join(missing, ", "), strings.Join(header, ","))}
	}
	t.width = len(header)
	return t, nil
}

// has reports whether the header names a column.
func (t *table) has(name string) bool {
	_, ok := t.columns[name]
	return ok
}

// next returns the fields of the next non-blank line, io.EOF at the end,
// a *RowError for a line that cannot be split into fields (the read can
// go on after it), or another error when the input itself fails.
func (t *table) next() ([]string, error) {
	for t.sc.Scan() {
		t.line++
		text := strings.TrimSuffix(t.sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if !utf8.ValidString(text) {
			return nil, &RowError{File: t.file, Line: t.line, Detail: "is not valid UTF-8"}
		}
		if strings.ContainsRune(text, '"') {
			return nil, &RowError{File: t.file, Line: t.line, Detail: "contains a quote character; quoted fields are not supported"}
		}
		return strings.Split(text, ","), nil
	}
	if err := t.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: a line is longer than %d bytes: %w", t.file, t.line+1, maxLineBytes, err)
		}
		return nil, fmt.Errorf("reading %s after line %d: %w", t.file, t.line, err)
	}
	return nil, io.EOF
}

// row is one data line being converted; the first problem found sticks,
// so that conversion code reads straight through and checks err once.
type row struct {
	t      *table
	fields []string
	err    *RowError
}

// rowOf checks the field count of a data line.
func (t *table) rowOf(fields []string) *row {
	r := &row{t: t, fields: fields}
	if len(fields) != t.width {
		r.err = &RowError{File: t.file, Line: t.line,
			Detail: fmt.Sprintf("has %d fields, the header has %d", len(fields), t.width)}
	}
	return r
}

func (r *row) fail(col, format string, args ...any) {
	if r.err == nil {
		r.err = &RowError{File: r.t.file, Line: r.t.line, Column: col, Detail: fmt.Sprintf(format, args...)}
	}
}

// str returns a column's raw field ("" for a column the header lacks).
func (r *row) str(col string) string {
	i, ok := r.t.columns[col]
	if !ok || r.err != nil {
		return ""
	}
	return r.fields[i]
}

// text returns a free-text field, refusing control characters and
// surrounding spaces, which no trace writes and which would end up in
// reports and object names.
func (r *row) text(col string) string {
	s := r.str(col)
	switch {
	case strings.TrimSpace(s) != s:
		r.fail(col, "%q has leading or trailing spaces", s)
	case strings.ContainsFunc(s, unicode.IsControl):
		r.fail(col, "%q contains control characters", s)
	}
	return s
}

// integer returns a non-negative decimal integer field no larger than hi.
// Only plain digits are accepted: "12000", not "+12000", "12000.0",
// "1.2e4" or " 12000".
func (r *row) integer(col string, hi int64) int64 {
	s := r.str(col)
	if r.err != nil {
		return 0
	}
	v, detail := parseCount(s, hi)
	if detail != "" {
		r.fail(col, "%s", detail)
	}
	return v
}

// optionalInteger is integer for a field that may be empty; ok is false
// when it is.
func (r *row) optionalInteger(col string, hi int64) (v int64, ok bool) {
	if r.str(col) == "" {
		return 0, false
	}
	return r.integer(col, hi), true
}

func parseCount(s string, hi int64) (int64, string) {
	if s == "" {
		return 0, "is empty (want a non-negative integer)"
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.ContainsFunc(digits, func(c rune) bool { return c < '0' || c > '9' }) {
		return 0, fmt.Sprintf("%q is not an integer", s)
	}
	if digits != s {
		return 0, fmt.Sprintf("%s is negative", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > hi {
		return 0, fmt.Sprintf("%s is out of range [0, %d]", s, hi)
	}
	return v, ""
}
