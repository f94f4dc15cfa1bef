package simhw

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// builtinFS holds the built-in machine descriptions. They are ordinary
// machine files, parsed by Parse like any user file, so that the format is
// exercised and documented by example.
//
//go:embed machines/*.yaml
var builtinFS embed.FS

const (
	builtinDir = "machines"
	builtinExt = ".yaml"
	// maxDescriptionBytes bounds what Parse and Load accept: a real
	// description is a few KiB, and the bound keeps a wrong path (a disk
	// image, /dev/zero) from being read into memory.
	maxDescriptionBytes = 1 << 20
)

// Builtin returns the sorted names of the built-in machines.
func Builtin() []string {
	entries, err := builtinFS.ReadDir(builtinDir)
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), builtinExt); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	// ReadDir returns entries sorted by file name, hence by machine name.
	return names
}

// Load returns a validated machine: the built-in one called nameOrPath if
// there is one, else the one described by the YAML (or JSON) file at that
// path. Built-in names win over files of the same name in the working
// directory, so that "dgxh100" means the same machine everywhere.
func Load(nameOrPath string) (*Machine, error) {
	if isBuiltin(nameOrPath) {
		data, err := builtinFS.ReadFile(builtinDir + "/" + nameOrPath + builtinExt)
		if err != nil {
			return nil, fmt.Errorf("built-in machine %q: %w", nameOrPath, err)
		}
		m, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("built-in machine %q: %w", nameOrPath, err)
		}
		return m, nil
	}
	data, err := readFileLimited(nameOrPath)
	if err != nil {
		known := strings.Join(Builtin(), ", ")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("unknown machine %q: not a built-in (%s) nor a readable file", nameOrPath, known)
		}
		return nil, fmt.Errorf("unknown machine %q: not a built-in (%s) nor a readable file: %s",
			nameOrPath, known, oneLine(err.Error()))
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("machine file %q: %w", nameOrPath, err)
	}
	return m, nil
}

// isBuiltin reports whether name is exactly a built-in name; anything else
// (including "machines/../x" tricks) is treated as a file path.
func isBuiltin(name string) bool {
	for _, b := range Builtin() {
		if b == name {
			return true
		}
	}
	return false
}

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptionBytes+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Parse decodes a YAML (or JSON) machine description strictly (unknown and
// duplicate fields are errors, so typos cannot silently fall back to
// defaults), fills the defaults and validates the result.
func Parse(data []byte) (m *Machine, err error) {
	if len(data) > maxDescriptionBytes {
		return nil, fmt.Errorf("description is larger than %d bytes", maxDescriptionBytes)
	}
	// The YAML decoder is a large third-party state machine; a panic inside
	// it on some odd input must not take the caller (a test binary, a demo
	// server) down with it.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("decoding machine description: decoder failed: %v", r)
		}
	}()
	var out Machine
	if err := yaml.UnmarshalStrict(data, &out); err != nil {
		return nil, fmt.Errorf("decoding machine description: %s", oneLine(err.Error()))
	}
	out.setDefaults()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

// setDefaults fills what a description may leave out: one socket, one NUMA
// node per socket, one thread per core.
func (m *Machine) setDefaults() {
	if m.CPU.Sockets == 0 {
		m.CPU.Sockets = 1
	}
	if m.CPU.NUMANodesPerSocket == 0 {
		m.CPU.NUMANodesPerSocket = 1
	}
	if m.CPU.ThreadsPerCore == 0 {
		m.CPU.ThreadsPerCore = 1
	}
}

// oneLine folds a multi-line decoder message ("yaml: unmarshal errors:\n
// line 3: ...") into one line, because callers print errors as log lines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
