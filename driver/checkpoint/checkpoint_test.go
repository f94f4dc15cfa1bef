package checkpoint

import (
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func sample() *Checkpoint {
	cp := New()
	cp.Claims["uid-1"] = &Claim{Namespace: "ns", Name: "c1", State: PrepareCompleted, Devices: []Device{{
		Requests: []string{"gpu"}, Pool: "n1", Device: "gpu-0", CDIDeviceIDs: []string{"k8s.gpu.hadron.dev/claim=uid-1-gpu-0"},
		State: json.RawMessage(`{"x":1}`),
	}}}
	cp.Claims["uid-2"] = &Claim{Namespace: "ns", Name: "c2", State: PrepareStarted}
	return cp
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := NewStore(filepath.Join(t.TempDir(), "sub", "checkpoint.json"))
	empty, err := s.Load()
	if err != nil || len(empty.Claims) != 0 {
		t.Fatalf("missing file: got %v, %v; want empty checkpoint", empty, err)
	}
	want := sample()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	wantRaw, _ := Encode(want)
	gotRaw, _ := Encode(got)
	if string(wantRaw) != string(gotRaw) {
		t.Fatalf("round trip changed the checkpoint:\n%s\n%s", wantRaw, gotRaw)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadRejectsDamage(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		content string
		wantErr string
	}{
		"not json":         {"{{{", "decode"},
		"wrong version":    {strings.Replace(string(good), Version, "v0", 1), "unsupported version"},
		"tampered data":    {strings.Replace(string(good), "gpu-0", "gpu-1", 1), "checksum mismatch"},
		"truncated":        {string(good[:len(good)/2]), "decode"},
		"unknown state":    {encodeRaw(t, `{"claims":{"u":{"namespace":"n","name":"c","state":"Weird"}}}`), "unknown state"},
		"null claim entry": {encodeRaw(t, `{"claims":{"u":null}}`), "empty entry"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewStore(path).Load()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v; want an error naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}
}

// encodeRaw wraps data with a valid version and checksum so that only the
// content checks can reject it.
func encodeRaw(t *testing.T, data string) string {
	t.Helper()
	var cp struct {
		Claims map[types.UID]json.RawMessage `json:"claims"`
	}
	if err := json.Unmarshal([]byte(data), &cp); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(file{Version: Version, Checksum: crc32Of(data), Data: json.RawMessage(data)})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(sample())
	f.Add(good)
	f.Add([]byte(`{"version":"checkpoint.hadron.dev/v1","checksum":0,"data":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cp, err := Decode(raw)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same thing.
		again, err := Encode(cp)
		if err != nil {
			t.Fatalf("decoded checkpoint does not encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded checkpoint does not decode: %v", err)
		}
	})
}

func crc32Of(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }
