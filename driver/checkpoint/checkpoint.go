// Package checkpoint persists which ResourceClaims a hadron driver has
// prepared on a node, so that a restarted driver neither forgets prepared
// devices nor hands them out twice.
//
// The file is versioned and carries a checksum: a checkpoint that cannot be
// read back exactly is an error, never an empty state, because silently
// dropping it would let the driver prepare the same device for two claims.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/types"
)

// Version is the on-disk format written by this package.
const Version = "checkpoint.hadron.dev/v1"

// State is the preparation state of one claim. A claim is recorded as
// PrepareStarted before any side effect, so that a crash part-way can be
// rolled back at the next start.
type State string

const (
	PrepareStarted   State = "PrepareStarted"
	PrepareCompleted State = "PrepareCompleted"
)

// Device is one prepared device of a claim.
type Device struct {
	Requests []string `json:"requests,omitempty"`
	Pool     string   `json:"pool"`
	Device   string   `json:"device"`
	// ShareID identifies the share of a device that allows multiple
	// allocations; nil for exclusively allocated devices.
	ShareID      *types.UID `json:"shareID,omitempty"`
	CDIDeviceIDs []string   `json:"cdiDeviceIDs,omitempty"`
	// State is the device family's own record of what it did (for example
	// the CPUs it chose), needed to undo it after a restart.
	State json.RawMessage `json:"state,omitempty"`
}

// Claim is one prepared (or being prepared) ResourceClaim.
type Claim struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	State     State    `json:"state"`
	Devices   []Device `json:"devices,omitempty"`
}

// Checkpoint is the whole state of one driver on one node.
type Checkpoint struct {
	Claims map[types.UID]*Claim `json:"claims"`
}

// New returns an empty checkpoint.
func New() *Checkpoint {
	return &Checkpoint{Claims: map[types.UID]*Claim{}}
}

// file is the serialized form: the checksum covers the exact bytes of Data.
type file struct {
	Version  string          `json:"version"`
	Checksum uint32          `json:"checksum"`
	Data     json.RawMessage `json:"data"`
}

// Store reads and writes one checkpoint file.
type Store struct {
	path string
}

// NewStore returns a store for the checkpoint at path.
func NewStore(path string) *Store {
	return &Store{path: path}
}

// Path is the checkpoint file's location.
func (s *Store) Path() string { return s.path }

// Load reads the checkpoint. A missing file is an empty checkpoint; a file
// that exists but cannot be decoded or verified is an error.
func (s *Store) Load() (*Checkpoint, error) {
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", s.path, err)
	}
	cp, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable (move it away only if no claim is prepared on this node): %w", s.path, err)
	}
	return cp, nil
}

// Decode parses a serialized checkpoint and verifies its version and checksum.
func Decode(raw []byte) (*Checkpoint, error) {
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("unsupported version %q (want %q)", f.Version, Version)
	}
	if got := crc32.ChecksumIEEE(f.Data); got != f.Checksum {
		return nil, fmt.Errorf("checksum mismatch: file says %d, data has %d", f.Checksum, got)
	}
	cp := New()
	if err := json.Unmarshal(f.Data, cp); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	if cp.Claims == nil {
		cp.Claims = map[types.UID]*Claim{}
	}
	for uid, c := range cp.Claims {
		if c == nil {
			return nil, fmt.Errorf("claim %s: empty entry", uid)
		}
		if c.State != PrepareStarted && c.State != PrepareCompleted {
			return nil, fmt.Errorf("claim %s: unknown state %q", uid, c.State)
		}
	}
	return cp, nil
}

// Encode serializes a checkpoint with its version and checksum.
func Encode(cp *Checkpoint) ([]byte, error) {
	data, err := json.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	// Not indented: indenting would rewrite the checksummed bytes of Data.
	return json.Marshal(file{Version: Version, Checksum: crc32.ChecksumIEEE(data), Data: data})
}

// Save writes the checkpoint atomically: a temporary file in the same
// directory is written and fsynced, renamed over the old one, and the
// directory is fsynced, so a crash leaves either the old or the new file.
func (s *Store) Save(cp *Checkpoint) error {
	raw, err := Encode(cp)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create checkpoint directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary checkpoint: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after a successful rename
	if _, err := tmp.Write(raw); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write temporary checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("sync temporary checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace checkpoint: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open checkpoint directory: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint directory: %w", err)
	}
	return nil
}
