package replay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hadron-sched/hadron/bench/trace"
)

// checkpoint is one completed policy's result as saved to
// Options.CheckpointDir, with what it was measured on: a later run
// reuses it only for the same workload, scheduler configuration and
// code.
type checkpoint struct {
	// Key identifies workload, policy configuration and Options.CodeVersion.
	Key    string       `json:"key"`
	Result PolicyResult `json:"result"`
}

// checkpointFile is where policy i's checkpoint lives.
func checkpointFile(dir string, i int, p Policy) string {
	return filepath.Join(dir, fmt.Sprintf("policy-%d-%s.json", i, p.Name))
}

// checkpointKey fingerprints what a policy's result depends on: the
// workload (nodes, tenants, events), the policy's scheduler
// configuration and the code version the caller names.
func checkpointKey(w *trace.Workload, p Policy, codeVersion string) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, v := range []any{w.Nodes, w.Tenants, w.Events, w.ClusterGPUs, p.Name, string(p.SchedulerConfig), codeVersion} {
		if err := enc.Encode(v); err != nil {
			return "", fmt.Errorf("fingerprint policy %s: %w", p.Name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// saveCheckpoint writes a completed policy's result atomically.
func saveCheckpoint(file, key string, res *PolicyResult) error {
	raw, err := json.Marshal(checkpoint{Key: key, Result: *res})
	if err != nil {
		return fmt.Errorf("encode checkpoint of policy %s: %w", res.Policy, err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// loadCheckpoint returns the saved result in file when it was measured
// under key; nil (and no error) when there is none or it is stale.
func loadCheckpoint(file, key string) (*PolicyResult, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var c checkpoint
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", file, err)
	}
	if c.Key != key {
		return nil, nil
	}
	return &c.Result, nil
}
