// Package strict decodes hadron's configuration documents, YAML or JSON,
// into Go types more strictly than encoding/json does: field names match
// exactly (encoding/json ignores case), unknown and duplicate fields are
// errors, and every error names the path of the field it is about, such as
// "sharing.mps.foo" or "gpus[1].mode". Configuration that is silently
// half-applied is worse than configuration that is refused, so these
// decoders refuse.
package strict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// FieldError is a problem with one field of a document. Path is empty for
// problems with the document as a whole.
type FieldError struct {
	// Path names the field, e.g. "sharing.mps.defaultActiveThreadPercentage",
	// "gpus[1].mode" or "defaultPerDevicePinnedMemoryLimits[GPU-1234]".
	Path string
	// Detail says what is wrong and, where it can, how to fix it.
	Detail string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Detail
	}
	return e.Path + ": " + e.Detail
}

// Errorf returns a FieldError for path.
func Errorf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Detail: fmt.Sprintf(format, args...)}
}

// ErrorList collects the problems validation found, in field order, so that
// one round of fixing can address all of them.
type ErrorList []*FieldError

// maxShown bounds how many problems Error spells out: the message lands in
// claim events and logs, and a hostile document can hold thousands.
const maxShown = 10

// Error joins the problems with "; ", as these messages end up on one line
// in events and logs, and summarizes those past the first ten.
func (l ErrorList) Error() string {
	msgs := make([]string, 0, min(len(l), maxShown+1))
	for i, e := range l {
		if i == maxShown {
			msgs = append(msgs, fmt.Sprintf("and %d more problems", len(l)-maxShown))
			break
		}
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find the first *FieldError.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Add appends a FieldError for path.
func (l *ErrorList) Add(path, format string, args ...any) {
	*l = append(*l, Errorf(path, format, args...))
}

// Err returns nil for an empty list, the *FieldError itself for a list of
// one, and the list otherwise.
func (l ErrorList) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

// Child is the path of field name under path.
func Child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index is the path of element i of the list at path.
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// Key is the path of the map entry key under path. Keys that could be
// mistaken for path syntax are quoted.
func Key(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.' && r != '/' {
			plain = false
			break
		}
	}
	if !plain {
		key = strconv.Quote(key)
	}
	return path + "[" + key + "]"
}

// ToJSON returns data, at most limit bytes of YAML or JSON, as one JSON
// value. Empty input, or input holding only comments, is JSON null.
//
// Input that starts with '{' or '[' must be JSON. Anything else is read as
// YAML in block style, with duplicate keys refused; its top level may not
// be a flow collection ({...} or [...]) and it may hold one document only.
// Those two restrictions exist because the YAML parser silently drops
// whatever follows a top-level flow collection or the first document.
func ToJSON(data []byte, limit int) ([]byte, error) {
	if len(data) > limit {
		return nil, Errorf("", "document is %d bytes, more than the limit of %d", len(data), limit)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var v any
		err := json.Unmarshal(trimmed, &v)
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, Errorf("", "invalid JSON at byte %d: %s (a document starting with %q must be JSON)", syn.Offset, syn.Error(), trimmed[0])
		case err != nil:
			return nil, Errorf("", "invalid JSON: %v", err)
		}
		return trimmed, nil
	}
	if err := checkYAMLLayout(data); err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, Errorf("", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	// YAML aliases can make the JSON much larger than the YAML; the YAML
	// parser bounds alias expansion, this bounds what the decoder walks.
	if len(js) > 4*limit+16 {
		return nil, Errorf("", "document expands to %d bytes of JSON, more than the limit of %d", len(js), 4*limit)
	}
	return js, nil
}

// checkYAMLLayout refuses what the YAML parser would silently truncate:
// content after a document marker ("---" or "...") that follows content,
// i.e. a second document, and a top-level flow collection, after which
// the parser ignores the rest of the line.
func checkYAMLLayout(data []byte) error {
	content, ended := false, false
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		rest := line
		if isMarker(line, "---") || isMarker(line, "...") {
			if content {
				ended = true
			}
			rest = line[3:]
		}
		rest = bytes.TrimSpace(rest)
		if len(rest) == 0 || rest[0] == '#' {
			continue
		}
		if ended {
			return Errorf("", "holds more than one YAML document (content after a \"---\" or \"...\" line); put all settings in one document")
		}
		if content {
			continue
		}
		if rest[0] == '%' {
			continue // a directive such as %YAML 1.1, before the document
		}
		if startsFlow(rest) {
			return Errorf("", "YAML whose top level is a flow collection ({...} or [...]) is not accepted; write the YAML in block style, or plain JSON")
		}
		content = true
	}
	return nil
}

// startsFlow says whether the first node of a document, which starts
// line, is a flow collection, looking past a byte order mark and node
// properties (&anchor, !tag).
func startsFlow(line []byte) bool {
	line = bytes.TrimPrefix(line, []byte("\ufeff"))
	for {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || (line[0] != '&' && line[0] != '!') {
			break
		}
		end := bytes.IndexAny(line, " \t")
		if end < 0 {
			return false
		}
		line = line[end:]
	}
	return len(line) > 0 && (line[0] == '{' || line[0] == '[')
}

// isMarker says whether line is the YAML document marker m, alone or
// followed by a space.
func isMarker(line []byte, m string) bool {
	return bytes.HasPrefix(line, []byte(m)) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

// Unmarshal decodes the JSON value data into the value into points to.
//
// It follows encoding/json's rules for Go types (json tags, embedded
// structs, omitted fields keep their value, null clears pointers, maps and
// slices) with these differences:
//   - object keys must match a field's JSON name exactly;
//   - a key that names no field is an error;
//   - a key given twice in one object is an error;
//   - resource.Quantity values get a readable error when malformed;
//   - errors are *FieldError with the field's path, and decoding stops at
//     the first.
//
// Fixed-size arrays, channels, functions and []byte as base64 are not
// supported: configuration types do not use them.
func Unmarshal(data []byte, into any) error {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return Errorf("", "internal error: strict.Unmarshal needs a non-nil pointer, got %T", into)
	}
	if !json.Valid(data) {
		var probe any // only for encoding/json's description of the error
		return Errorf("", "invalid JSON: %v", json.Unmarshal(data, &probe))
	}
	return decode("", data, v.Elem())
}

var quantityType = reflect.TypeFor[resource.Quantity]()

func decode(path string, raw []byte, v reflect.Value) error {
	raw = bytes.TrimSpace(raw)
	null := string(raw) == "null"
	switch {
	case v.Kind() == reflect.Pointer:
		if null {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decode(path, raw, v.Elem())
	case v.Type() == quantityType:
		return decodeQuantity(path, raw, v)
	case null:
		// As in encoding/json: null clears what can be nil and leaves
		// everything else as it was.
		switch v.Kind() {
		case reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(json.Unmarshaler); ok {
			if err := u.UnmarshalJSON(raw); err != nil {
				return Errorf(path, "invalid value %s: %v", abbreviate(raw), err)
			}
			return nil
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		return decodeStruct(path, raw, v)
	case reflect.Map:
		return decodeMap(path, raw, v)
	case reflect.Slice:
		return decodeSlice(path, raw, v)
	case reflect.String:
		return decodeScalar(path, raw, v, "string", "a string")
	case reflect.Bool:
		return decodeScalar(path, raw, v, "boolean", "true or false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return decodeScalar(path, raw, v, "number", "an integer")
	case reflect.Float32, reflect.Float64:
		return decodeScalar(path, raw, v, "number", "a number")
	case reflect.Interface:
		if v.NumMethod() == 0 {
			return decodeScalar(path, raw, v, kindOf(raw), "any value")
		}
	}
	return Errorf(path, "internal error: cannot decode into Go type %s", v.Type())
}

// decodeQuantity parses with Quantity's own UnmarshalJSON, so that what
// this accepts is exactly what encoding/json accepts, and only replaces
// its error, a regular expression, with an example.
func decodeQuantity(path string, raw []byte, v reflect.Value) error {
	if k := kindOf(raw); k != "string" && k != "number" && k != "null" {
		return Errorf(path, "must be a quantity such as \"1Gi\" or \"512Mi\", not %s", article(k))
	}
	if err := quantityBounds(raw); err != nil {
		return Errorf(path, "invalid quantity %s: %s", abbreviate(raw), err)
	}
	var q resource.Quantity
	if err := q.UnmarshalJSON(raw); err != nil {
		return Errorf(path, "invalid quantity %s: want a number with an optional suffix, such as \"1Gi\", \"512Mi\" or \"10G\"", abbreviate(raw))
	}
	v.Set(reflect.ValueOf(q))
	return nil
}

// quantityBounds refuses quantities that are slow to parse:
// resource.ParseQuantity takes time that grows faster than linearly with
// the exponent ("1e-9999999" takes seconds) and with the number of
// digits, and a claim's parameters are not checked by the API server, so
// one claim could stall the node plugin. Real quantities are short.
func quantityBounds(raw []byte) error {
	s := string(raw)
	if kindOf(raw) == "string" {
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
	}
	const maxLen, maxExpDigits = 40, 2
	if len(s) > maxLen {
		return fmt.Errorf("longer than %d characters", maxLen)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp := strings.TrimLeft(s[i+1:], "+-")
		digits := len(exp) - len(strings.TrimLeft(exp, "0123456789"))
		if digits > maxExpDigits {
			return fmt.Errorf("exponent has more than %d digits", maxExpDigits)
		}
	}
	return nil
}

func decodeScalar(path string, raw []byte, v reflect.Value, wantKind, want string) error {
	if k := kindOf(raw); k != wantKind && want != "any value" {
		hint := ""
		// Unquoted YAML scalars such as 4090 or yes are numbers and
		// booleans, which surprises whoever meant a model name.
		switch {
		case wantKind == "string" && k == "number":
			hint = fmt.Sprintf(" (quote it: \"%s\")", raw)
		case wantKind == "string" && k == "boolean":
			hint = " (YAML reads unquoted yes, no, on, off, true and false as booleans; quote the value)"
		}
		return Errorf(path, "must be %s, not %s%s", want, article(k), hint)
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return Errorf(path, "%s is not %s that fits Go type %s", raw, want, v.Type())
		}
		return Errorf(path, "invalid value %s: %v", abbreviate(raw), err)
	}
	return nil
}

type member struct {
	key string
	raw json.RawMessage
}

// members reads the keys and values of a JSON object in document order.
func members(path string, raw []byte) ([]member, error) {
	if k := kindOf(raw); k != "object" {
		return nil, Errorf(path, "must be an object, not %s", article(k))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, Errorf(path, "invalid JSON: %v", err)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, Errorf(path, "invalid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, Errorf(path, "invalid JSON: object key %v is not a string", tok)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, Errorf(Child(path, key), "invalid JSON: %v", err)
		}
		out = append(out, member{key, val})
	}
	return out, nil
}

func decodeStruct(path string, raw []byte, v reflect.Value) error {
	ms, err := members(path, raw)
	if err != nil {
		return err
	}
	info := fieldsOf(v.Type())
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		fieldPath := Child(path, m.key)
		if seen[m.key] {
			return Errorf(fieldPath, "given more than once; keep one")
		}
		seen[m.key] = true
		index, ok := info.byName[m.key]
		if !ok {
			return unknownField(fieldPath, m.key, info.names)
		}
		if err := decode(fieldPath, m.raw, v.FieldByIndex(index)); err != nil {
			return err
		}
	}
	return nil
}

func unknownField(path, key string, names []string) error {
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return Errorf(path, "unknown field; did you mean %q? (field names are case-sensitive)", n)
		}
	}
	if len(names) == 0 {
		return Errorf(path, "unknown field; this object takes no fields")
	}
	return Errorf(path, "unknown field; known fields here are %s", strings.Join(names, ", "))
}

func decodeMap(path string, raw []byte, v reflect.Value) error {
	if v.Type().Key().Kind() != reflect.String {
		return Errorf(path, "internal error: map key type %s is not a string", v.Type().Key())
	}
	ms, err := members(path, raw)
	if err != nil {
		return err
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(ms)))
	}
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		entryPath := Key(path, m.key)
		if seen[m.key] {
			return Errorf(entryPath, "given more than once; keep one")
		}
		seen[m.key] = true
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := decode(entryPath, m.raw, elem); err != nil {
			return err
		}
		v.SetMapIndex(reflect.ValueOf(m.key).Convert(v.Type().Key()), elem)
	}
	return nil
}

func decodeSlice(path string, raw []byte, v reflect.Value) error {
	if k := kindOf(raw); k != "array" {
		return Errorf(path, "must be a list, not %s", article(k))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return Errorf(path, "invalid JSON: %v", err)
	}
	out := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	for i, e := range elems {
		if err := decode(Index(path, i), e, out.Index(i)); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

// structInfo maps the JSON names of a struct's fields, those of embedded
// structs included, to their field indexes.
type structInfo struct {
	byName map[string][]int
	names  []string // sorted, for error messages
}

var structInfos sync.Map // reflect.Type → *structInfo

func fieldsOf(t reflect.Type) *structInfo {
	if info, ok := structInfos.Load(t); ok {
		return info.(*structInfo)
	}
	info := &structInfo{byName: map[string][]int{}}
	depth := map[string]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			index := append(slices.Clone(prefix), i)
			// Like encoding/json: an embedded struct without a JSON name
			// (metav1.TypeMeta with `json:",inline"`) lends its fields.
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, index)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			// The shallower field wins, as in Go and encoding/json.
			if d, ok := depth[name]; !ok || len(index) < d {
				depth[name] = len(index)
				info.byName[name] = index
			}
		}
	}
	walk(t, nil)
	for n := range info.byName {
		info.names = append(info.names, n)
	}
	sort.Strings(info.names)
	actual, _ := structInfos.LoadOrStore(t, info)
	return actual.(*structInfo)
}

// kindOf names the kind of the JSON value raw from its first byte; raw is
// known to be valid JSON.
func kindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "null", "nothing":
		return kind
	}
	return "a " + kind
}

// abbreviate keeps error messages short when a value is long.
func abbreviate(raw []byte) string {
	const limit = 64
	if len(raw) <= limit {
		return string(raw)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(raw[cut]) {
		cut--
	}
	return string(raw[:cut]) + "…"
}
