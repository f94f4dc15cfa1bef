package v1alpha1

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode checks that Decode never panics, that whatever it accepts
// survives an encode/decode round trip unchanged, and that it accepts
// nothing encoding/json would read differently.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig"}`,
		`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"TimeSlicing","timeSlicing":{"interval":"Long"}}}`,
		`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"MPS","mps":{"defaultActiveThreadPercentage":50,"defaultPinnedDeviceMemoryLimit":"10Gi","defaultPerDevicePinnedMemoryLimits":{"0":"1Gi","GPU-abc":"2G"}}}}`,
		"apiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\nsharing:\n  strategy: MPS\n  mps: {defaultPinnedDeviceMemoryLimit: 1e9}\n",
		`{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig","sharing":{"strategy":"MPS","mps":{"foo":1}}}`,
		"a: &a [*a]\n",
		`[[[[[[[[[[]]]]]]]]]]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Decode(raw)
		if err != nil {
			if c != nil {
				t.Fatal("config and error both returned")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode returned a config that fails Validate: %v", err)
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Decode(js)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", js, err)
		}
		if !equal(c, again) {
			t.Fatalf("round trip changed the config:\n%s\n%s", js, mustJSON(again))
		}

		// Decode is meant to be stricter than encoding/json, never
		// different: what it accepts, encoding/json must read the same.
		std := &GpuConfig{}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(std); err != nil {
			t.Fatalf("encoding/json refuses %s: %v", js, err)
		}
		if !equal(c, std) {
			t.Fatalf("encoding/json reads %s differently", js)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// equal compares configs, quantities by value: the same quantity can be
// held in different internal forms.
func equal(a, b *GpuConfig) bool {
	if a.TypeMeta != b.TypeMeta || (a.Sharing == nil) != (b.Sharing == nil) {
		return false
	}
	if a.Sharing == nil {
		return true
	}
	x, y := a.Sharing, b.Sharing
	if x.Strategy != y.Strategy || (x.TimeSlicing == nil) != (y.TimeSlicing == nil) || (x.MPS == nil) != (y.MPS == nil) {
		return false
	}
	if x.TimeSlicing != nil && *x.TimeSlicing != *y.TimeSlicing {
		return false
	}
	if x.MPS == nil {
		return true
	}
	m, n := x.MPS, y.MPS
	if !equalPtr(m.DefaultActiveThreadPercentage, n.DefaultActiveThreadPercentage) {
		return false
	}
	if (m.DefaultPinnedDeviceMemoryLimit == nil) != (n.DefaultPinnedDeviceMemoryLimit == nil) ||
		m.DefaultPinnedDeviceMemoryLimit != nil && m.DefaultPinnedDeviceMemoryLimit.Cmp(*n.DefaultPinnedDeviceMemoryLimit) != 0 {
		return false
	}
	if len(m.DefaultPerDevicePinnedMemoryLimits) != len(n.DefaultPerDevicePinnedMemoryLimits) {
		return false
	}
	for k, q := range m.DefaultPerDevicePinnedMemoryLimits {
		r, ok := n.DefaultPerDevicePinnedMemoryLimits[k]
		if !ok || q.Cmp(r) != 0 {
			return false
		}
	}
	return true
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
