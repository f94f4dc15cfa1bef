package config

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzParse checks that Parse never panics, that what it accepts is valid
// and survives a JSON and a YAML round trip unchanged, and that ModeFor
// only ever answers a valid mode.
func FuzzParse(f *testing.F) {
	f.Add(exampleYAML)
	for _, seed := range []string{
		"",
		"{}",
		"defaultMode: shared\n",
		"gpus: [{index: 0, mode: mig}, {model: a100, mode: shared}]\n",
		"shared: {minMilli: 10, milliStep: 10, defaultMilli: 500, minMemory: 1e9, memoryStep: 1Mi, strategy: MPS}\n",
		"mig: {profiles: [1g.10gb+me]}\n",
		`{"gpus":[{"uuid":"GPU-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab","mode":"whole"}]}`,
	} {
		f.Add([]byte(seed))
	}
	ids := []GPUIdentity{
		{Index: 0, UUID: "GPU-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab", Model: "NVIDIA A100-SXM4-80GB"},
		{Index: 1, Model: "NVIDIA H100 80GB HBM3"},
		{Index: -1},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("config and error both returned")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid config: %v", err)
		}
		for _, g := range ids {
			if m := c.ModeFor(g); !m.valid() {
				t.Fatalf("ModeFor(%+v) = %q", g, m)
			}
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(js)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", js, err)
		}
		if !equal(c, again) {
			t.Fatalf("JSON round trip changed the config:\n%s", js)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err = Parse(y)
		if err != nil {
			t.Fatalf("re-parsing YAML %s: %v", y, err)
		}
		if !equal(c, again) {
			t.Fatalf("YAML round trip changed the config:\n%s", y)
		}
	})
}

// equal compares configs, quantities by value.
func equal(a, b *Config) bool {
	if a.DefaultMode != b.DefaultMode || len(a.GPUs) != len(b.GPUs) || len(a.MIG.Profiles) != len(b.MIG.Profiles) {
		return false
	}
	for i, r := range a.GPUs {
		s := b.GPUs[i]
		if (r.Index == nil) != (s.Index == nil) || r.Index != nil && *r.Index != *s.Index || r.UUID != s.UUID || r.Model != s.Model || r.Mode != s.Mode {
			return false
		}
	}
	for i, p := range a.MIG.Profiles {
		if b.MIG.Profiles[i] != p {
			return false
		}
	}
	x, y := a.Shared, b.Shared
	return x.MinMilli == y.MinMilli && x.DefaultMilli == y.DefaultMilli && x.MilliStep == y.MilliStep &&
		x.Strategy == y.Strategy && x.MinMemory.Cmp(*y.MinMemory) == 0 && x.MemoryStep.Cmp(*y.MemoryStep) == 0
}
