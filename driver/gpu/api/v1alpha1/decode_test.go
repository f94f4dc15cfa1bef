package v1alpha1

import (
	"strings"
	"testing"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict/stricttest"
)

func TestDecode(t *testing.T) {
	const head = `"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"GpuConfig"`
	tests := []struct {
		name  string
		in    string
		want  []string // error substrings in order; none when it decodes
		check func(t *testing.T, c *GpuConfig)
	}{
		{name: "minimal JSON", in: `{` + head + `}`, check: func(t *testing.T, c *GpuConfig) {
			if c.Sharing != nil {
				t.Errorf("Sharing = %+v, want nil (the driver's default)", c.Sharing)
			}
		}},
		{name: "time-slicing normalized", in: `{` + head + `,"sharing":{"strategy":"TimeSlicing"}}`, check: func(t *testing.T, c *GpuConfig) {
			if c.Sharing.TimeSlicing == nil || c.Sharing.TimeSlicing.Interval != DefaultTimeSlice {
				t.Errorf("TimeSlicing = %+v", c.Sharing.TimeSlicing)
			}
		}},
		{name: "MPS in YAML", in: `
# comment
apiVersion: gpu.hadron.dev/v1alpha1
kind: GpuConfig
sharing:
  strategy: MPS
  mps:
    defaultActiveThreadPercentage: 50
    defaultPinnedDeviceMemoryLimit: 10Gi
    defaultPerDevicePinnedMemoryLimits:
      "0": 2Gi
      GPU-6f1e2d3c-aaaa-bbbb-cccc-0123456789ab: 4Gi
`, check: func(t *testing.T, c *GpuConfig) {
			m := c.Sharing.MPS
			if m == nil || *m.DefaultActiveThreadPercentage != 50 || m.DefaultPinnedDeviceMemoryLimit.Value() != 10<<30 {
				t.Fatalf("MPS = %+v", m)
			}
			if q := m.DefaultPerDevicePinnedMemoryLimits["0"]; q.Value() != 2<<30 {
				t.Errorf("limit of device 0 = %s", q.String())
			}
			if q := m.DefaultPerDevicePinnedMemoryLimits["GPU-6f1e2d3c-aaaa-bbbb-cccc-0123456789ab"]; q.Value() != 4<<30 {
				t.Errorf("limit by UUID = %s", q.String())
			}
		}},
		{name: "quantity as a JSON number", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultPinnedDeviceMemoryLimit":1073741824}}}`, check: func(t *testing.T, c *GpuConfig) {
			if c.Sharing.MPS.DefaultPinnedDeviceMemoryLimit.Value() != 1<<30 {
				t.Errorf("limit = %s", c.Sharing.MPS.DefaultPinnedDeviceMemoryLimit.String())
			}
		}},
		{name: "document markers", in: "---\napiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\n...\n"},
		{name: "JSON with surrounding space", in: "\n  {" + head + "}\n"},
		{name: "null sharing", in: `{` + head + `,"sharing":null}`},

		{name: "empty object", in: `{}`, want: []string{"apiVersion and kind are required"}},
		{name: "empty input", in: ``, want: []string{"empty configuration"}},
		{name: "only a comment", in: "# nothing\n", want: []string{"empty configuration"}},
		{name: "kind only", in: `{"kind":"GpuConfig"}`, want: []string{"apiVersion: required (want gpu.hadron.dev/v1alpha1)"}},
		{name: "apiVersion only", in: `{"apiVersion":"gpu.hadron.dev/v1alpha1"}`, want: []string{"kind: required (want GpuConfig)"}},
		{name: "wrong version", in: `{"apiVersion":"gpu.hadron.dev/v1beta1","kind":"GpuConfig"}`,
			want: []string{`apiVersion: unsupported apiVersion "gpu.hadron.dev/v1beta1" (want gpu.hadron.dev/v1alpha1)`}},
		{name: "wrong group", in: `{"apiVersion":"gpu.nvidia.com/v1alpha1","kind":"GpuConfig"}`,
			want: []string{`unsupported apiVersion "gpu.nvidia.com/v1alpha1"`}},
		{name: "wrong kind", in: `{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"MigDeviceConfig"}`,
			want: []string{`kind: unsupported kind "MigDeviceConfig" (want GpuConfig)`}},
		{name: "kind checked before fields", in: `{"apiVersion":"gpu.hadron.dev/v1alpha1","kind":"Other","bogus":1}`,
			want: []string{`unsupported kind "Other"`}},
		{name: "apiVersion not a string", in: `{"apiVersion":1,"kind":"GpuConfig"}`, want: []string{"apiVersion: must be a string"}},
		{name: "not JSON", in: `{"apiVersion": "gpu.hadron.dev/v1alpha1",`, want: []string{"invalid JSON at byte"}},
		{name: "not YAML", in: "apiVersion: [\n", want: []string{"invalid YAML"}},
		{name: "a string", in: `just words`, want: []string{"must be an object with apiVersion gpu.hadron.dev/v1alpha1 and kind GpuConfig"}},
		{name: "a list", in: `[1,2]`, want: []string{"must be an object"}},
		{name: "trailing JSON", in: `{` + head + `} {}`, want: []string{"invalid JSON at byte"}},
		{name: "YAML flow mapping must be JSON", in: `{apiVersion: gpu.hadron.dev/v1alpha1, kind: GpuConfig}`, want: []string{"invalid JSON at byte 2"}},
		{name: "YAML flow mapping after a comment", in: "# c\n{apiVersion: gpu.hadron.dev/v1alpha1, kind: GpuConfig} x\n", want: []string{"flow collection"}},
		{name: "content after document end", in: "apiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\n...\nsharing: {strategy: MPS}\n",
			want: []string{"more than one YAML document"}},
		{name: "unknown top-level field", in: `{` + head + `,"shareing":{}}`,
			want: []string{"shareing: unknown field; known fields here are apiVersion, kind, sharing"}},
		{name: "unknown field at depth", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"foo":1}}}`,
			want: []string{"sharing.mps.foo: unknown field"}},
		{name: "unknown field at depth in YAML", in: "apiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\nsharing:\n  strategy: MPS\n  mps:\n    foo: 1\n",
			want: []string{"sharing.mps.foo: unknown field"}},
		{name: "wrong case", in: `{` + head + `,"sharing":{"Strategy":"MPS"}}`,
			want: []string{`sharing.Strategy: unknown field; did you mean "strategy"?`}},
		{name: "duplicate key JSON", in: `{` + head + `,"sharing":{"strategy":"MPS","strategy":"TimeSlicing"}}`,
			want: []string{"sharing.strategy: given more than once"}},
		{name: "duplicate key YAML", in: "apiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\nsharing:\n  strategy: MPS\n  strategy: MPS\n",
			want: []string{"invalid YAML", "already set"}},
		{name: "duplicate map key", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultPerDevicePinnedMemoryLimits":{"0":"1Gi","0":"2Gi"}}}}`,
			want: []string{"sharing.mps.defaultPerDevicePinnedMemoryLimits[0]: given more than once"}},
		{name: "two YAML documents", in: "apiVersion: gpu.hadron.dev/v1alpha1\nkind: GpuConfig\n---\nsharing: {strategy: MPS}\n",
			want: []string{"more than one YAML document"}},
		{name: "wrong type", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultActiveThreadPercentage":"50"}}}`,
			want: []string{"sharing.mps.defaultActiveThreadPercentage: must be an integer, not a string"}},
		{name: "fraction for an integer", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultActiveThreadPercentage":50.5}}}`,
			want: []string{"sharing.mps.defaultActiveThreadPercentage: 50.5 is not an integer"}},
		{name: "sharing not an object", in: `{` + head + `,"sharing":"MPS"}`,
			want: []string{"sharing: must be an object, not a string"}},
		{name: "bad quantity", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultPinnedDeviceMemoryLimit":"lots"}}}`,
			want: []string{`sharing.mps.defaultPinnedDeviceMemoryLimit: invalid quantity "lots"`}},
		{name: "quantity as object", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultPinnedDeviceMemoryLimit":{}}}}`,
			want: []string{"sharing.mps.defaultPinnedDeviceMemoryLimit: must be a quantity"}},
		{name: "validation runs", in: `{` + head + `,"sharing":{"strategy":"MPS","mps":{"defaultActiveThreadPercentage":150}}}`,
			want: []string{"sharing.mps.defaultActiveThreadPercentage: 150 must be between 1 and 100"}},
		{name: "mismatched section", in: `{` + head + `,"sharing":{"strategy":"TimeSlicing","mps":{}}}`,
			want: []string{"sharing.mps: only allowed with strategy MPS"}},
		{name: "too large", in: `{` + head + `,"sharing":null` + strings.Repeat(" ", MaxConfigBytes) + `}`,
			want: []string{"more than the limit of 65536"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode([]byte(tt.in))
			stricttest.CheckErr(t, err, tt.want)
			if err != nil {
				if c != nil {
					t.Fatalf("Decode returned both a config and an error")
				}
				return
			}
			if c.APIVersion != APIVersion || c.Kind != GpuConfigKind {
				t.Fatalf("type = %+v", c.TypeMeta)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
