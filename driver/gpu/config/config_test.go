package config

import (
	_ "embed"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict/stricttest"

	"k8s.io/apimachinery/pkg/api/resource"
)

//go:embed example.yaml
var exampleYAML []byte

func intPtr(i int) *int { return &i }

func TestExample(t *testing.T) {
	c, err := Parse(exampleYAML)
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	// The example shows every setting, at its default where it has one,
	// so it must parse to the defaults plus its rules and profiles.
	d := Default(ModeWhole)
	if c.DefaultMode != d.DefaultMode || c.Shared.MinMilli != d.Shared.MinMilli || c.Shared.DefaultMilli != d.Shared.DefaultMilli ||
		c.Shared.MilliStep != d.Shared.MilliStep || c.Shared.MinMemory.Cmp(*d.Shared.MinMemory) != 0 ||
		c.Shared.MemoryStep.Cmp(*d.Shared.MemoryStep) != 0 || c.Shared.Strategy != d.Shared.Strategy {
		t.Errorf("example.yaml settings %+v differ from the defaults %+v", c.Shared, d.Shared)
	}
	if len(c.GPUs) != 4 || len(c.MIG.Profiles) != 3 {
		t.Errorf("example.yaml has %d rules and %d profiles", len(c.GPUs), len(c.MIG.Profiles))
	}
	for _, tt := range []struct {
		g    GPUIdentity
		want Mode
	}{
		{GPUIdentity{Index: 0, Model: "NVIDIA A100-SXM4-80GB"}, ModeMIG},
		{GPUIdentity{Index: 1, UUID: "GPU-6F1E2D3C-0A1B-4C5D-8E9F-0123456789AB", Model: "NVIDIA A100-SXM4-80GB"}, ModeWhole},
		{GPUIdentity{Index: 2, Model: "NVIDIA A100-SXM4-80GB"}, ModeShared},
		{GPUIdentity{Index: 3, Model: "NVIDIA GeForce RTX 4090"}, ModeShared},
		{GPUIdentity{Index: 4, Model: "NVIDIA H100 80GB HBM3"}, ModeWhole},
	} {
		if got := c.ModeFor(tt.g); got != tt.want {
			t.Errorf("ModeFor(%+v) = %s, want %s", tt.g, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Default("")
	if c.DefaultMode != ModeWhole {
		t.Errorf("DefaultMode %q", c.DefaultMode)
	}
	s := c.Shared
	if s.MinMilli != 100 || s.DefaultMilli != 250 || s.MilliStep != 50 || s.Strategy != "TimeSlicing" ||
		s.MinMemory.Value() != 1<<30 || s.MemoryStep.Value() != 256<<20 {
		t.Errorf("shared defaults %+v", s)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	for _, m := range Modes() {
		if c := Default(m); c.DefaultMode != m || c.Validate() != nil {
			t.Errorf("Default(%s) = %+v", m, c)
		}
	}
	if a, b := Default(ModeWhole), Default(ModeWhole); a.Shared.MinMemory == b.Shared.MinMemory {
		t.Error("defaults share a quantity")
	}

	// defaultMilli follows the grid when the administrator moves it.
	for _, tt := range []struct{ in, want string }{
		{"shared: {milliStep: 100}", "defaultMilli 300"},
		{"shared: {minMilli: 400, milliStep: 200}", "defaultMilli 400"},
		{"shared: {minMilli: 10, milliStep: 10}", "defaultMilli 250"},
		{"shared: {minMilli: 200, milliStep: 800}", "defaultMilli 1000"},
		{"shared: {minMilli: 1, milliStep: 999}", "defaultMilli 1000"},
	} {
		c, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got := "defaultMilli " + itoa(c.Shared.DefaultMilli); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.in, got, tt.want)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // error substrings in order; none when valid
	}{
		{name: "empty", in: ""},
		{name: "comments only", in: "# nothing yet\n"},
		{name: "empty object", in: "{}"},
		{name: "JSON", in: `{"defaultMode":"shared","gpus":[{"index":1,"mode":"whole"}]}`},
		{name: "every mode", in: "defaultMode: mig\ngpus:\n- {index: 0, mode: whole}\n- {index: 1, mode: mig}\n- {index: 2, mode: shared}\n"},
		{name: "MIG suffixes", in: "mig:\n  profiles: [1g.10gb, 1g.10gb+me, 1g.12gb-me, 1g.23gb+me.all, 2g.24gb+gfx, 7g.80gb, 4g.141gb]\n"},
		{name: "MPS by default", in: "shared: {strategy: MPS}"},
		{name: "memory as plain bytes", in: "shared: {minMemory: 536870912, memoryStep: 1048576}"},
		{name: "uppercase UUID", in: "gpus: [{uuid: GPU-6F1E2D3C-0A1B-4C5D-8E9F-0123456789AB, mode: shared}]"},
		{name: "distinct models", in: "gpus: [{model: A100-SXM4, mode: mig}, {model: A100, mode: shared}]"},

		// Decoding.
		{name: "not YAML", in: "gpus: [\n", want: []string{"invalid YAML"}},
		{name: "top-level list", in: "- index: 0\n", want: []string{"must be an object, not an array"}},
		{name: "unknown top-level field", in: "defaultmode: mig\n", want: []string{`defaultmode: unknown field; did you mean "defaultMode"?`}},
		{name: "unknown rule field", in: "gpus:\n- index: 0\n  mode: mig\n- index: 1\n  mdoe: mig\n", want: []string{"gpus[1].mdoe: unknown field; known fields here are index, mode, model, uuid"}},
		{name: "unknown shared field", in: "shared:\n  maxMilli: 10\n", want: []string{"shared.maxMilli: unknown field"}},
		{name: "unknown mig field", in: "mig:\n  profile: [1g.10gb]\n", want: []string{`mig.profile: unknown field; known fields here are profiles`}},
		{name: "duplicate key", in: "defaultMode: mig\ndefaultMode: whole\n", want: []string{"invalid YAML", `"defaultMode" already set`}},
		{name: "two documents", in: "defaultMode: mig\n---\ndefaultMode: whole\n", want: []string{"more than one YAML document"}},
		{name: "index as string", in: "gpus: [{index: \"0\", mode: mig}]", want: []string{"gpus[0].index: must be an integer, not a string"}},
		{name: "model as number", in: "gpus: [{model: 4090, mode: shared}]", want: []string{`gpus[0].model: must be a string, not a number (quote it: "4090")`}},
		{name: "mode as boolean", in: "gpus: [{index: 0, mode: no}]", want: []string{"gpus[0].mode: must be a string, not a boolean"}},
		{name: "bad quantity", in: "shared: {minMemory: 1 GB}", want: []string{`shared.minMemory: invalid quantity "1 GB"`}},
		{name: "too large", in: "#" + strings.Repeat("x", MaxFileBytes), want: []string{"more than the limit"}},

		// defaultMode.
		{name: "unknown default mode", in: "defaultMode: exclusive", want: []string{`defaultMode: unknown GPU mode "exclusive" (valid modes: whole, mig, shared)`}},
		{name: "default mode case", in: "defaultMode: MIG", want: []string{`defaultMode: unknown GPU mode "MIG"`}},

		// Rules.
		{name: "no selector", in: "gpus: [{mode: mig}]", want: []string{"gpus[0]: exactly one of index, uuid, model must be set (got none)"}},
		{name: "two selectors", in: "gpus: [{index: 0, mode: mig}, {index: 1, model: A100, mode: mig}]", want: []string{"gpus[1]: exactly one of index, uuid, model must be set (got index and model)"}},
		{name: "three selectors", in: "gpus: [{index: 1, uuid: GPU-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab, model: A100, mode: mig}]", want: []string{"(got index and uuid and model)"}},
		{name: "mode missing", in: "gpus: [{index: 0}]", want: []string{"gpus[0].mode: required: one of whole, mig, shared"}},
		{name: "mode unknown", in: "gpus: [{index: 0, mode: Shared}]", want: []string{`gpus[0].mode: unknown GPU mode "Shared" (valid modes: whole, mig, shared)`}},
		{name: "negative index", in: "gpus: [{index: -1, mode: mig}]", want: []string{"gpus[0].index: -1 must not be negative"}},
		{name: "duplicate index", in: "gpus: [{index: 2, mode: mig}, {index: 3, mode: mig}, {index: 2, mode: whole}]", want: []string{"gpus[2].index: GPU 2 is already selected by gpus[0]"}},
		{name: "bad UUID", in: "gpus: [{uuid: GPU-6f1e2d3c, mode: mig}]", want: []string{`gpus[0].uuid: "GPU-6f1e2d3c" is not a GPU UUID`}},
		{name: "MIG UUID", in: "gpus: [{uuid: MIG-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab, mode: mig}]", want: []string{"gpus[0].uuid: ", "is not a GPU UUID"}},
		{name: "duplicate UUID ignoring case", in: "gpus: [{uuid: GPU-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab, mode: mig}, {uuid: GPU-6F1E2D3C-0A1B-4C5D-8E9F-0123456789AB, mode: whole}]",
			want: []string{"gpus[1].uuid: GPU GPU-6F1E2D3C-0A1B-4C5D-8E9F-0123456789AB is already selected by gpus[0]"}},
		{name: "blank model", in: "gpus: [{model: ' ', mode: mig}]", want: []string{`gpus[0].model: " " has leading or trailing spaces`}},
		{name: "padded model", in: "gpus: [{model: ' A100', mode: mig}]", want: []string{"gpus[0].model:", "leading or trailing spaces"}},
		{name: "same model twice", in: "gpus: [{model: a100, mode: mig}, {model: A100, mode: whole}]", want: []string{`gpus[1].model: never applies: every GPU whose name contains "A100" also contains "a100", which gpus[0] selects first`}},
		{name: "shadowed model", in: "gpus: [{model: A100, mode: mig}, {index: 0, mode: whole}, {model: A100-SXM4-80GB, mode: shared}]", want: []string{"gpus[2].model: never applies", "gpus[0] selects first"}},

		{name: "too many rules", in: "gpus:\n" + strings.Repeat("- {model: a, mode: mig}\n", MaxRules+1), want: []string{"gpus: has 1025 rules, more than the limit of 1024"}},

		// Shared.
		{name: "minMilli negative", in: "shared: {minMilli: -5}", want: []string{"shared.minMilli: -5 must be between 1 and 999"}},
		{name: "minMilli too large", in: "shared: {minMilli: 1001}", want: []string{"shared.minMilli: 1001 must be between 1 and 999"}},
		{name: "minMilli whole GPU", in: "shared: {minMilli: 1000}", want: []string{"shared.minMilli: 1000 leaves nothing to share"}},
		{name: "milliStep negative", in: "shared: {milliStep: -1}", want: []string{"shared.milliStep: -1 must be between 1 and 1000"}},
		{name: "milliStep too large", in: "shared: {milliStep: 2000}", want: []string{"shared.milliStep: 2000 must be between 1 and 1000"}},
		{name: "whole GPU off the grid", in: "shared: {minMilli: 100, milliStep: 200}", want: []string{"shared.milliStep: 1000 - minMilli (900) must be a multiple of milliStep (200)", "try milliStep 180"}},
		{name: "defaultMilli below min", in: "shared: {defaultMilli: 50}", want: []string{"shared.defaultMilli: 50 must be between minMilli (100) and 1000"}},
		{name: "defaultMilli above whole", in: "shared: {defaultMilli: 1050}", want: []string{"shared.defaultMilli: 1050 must be between minMilli (100) and 1000"}},
		{name: "defaultMilli negative with bad min", in: "shared: {minMilli: -1, defaultMilli: -3}", want: []string{"shared.minMilli", "shared.defaultMilli: -3 must be between minMilli and 1000"}},
		{name: "defaultMilli off the grid", in: "shared: {defaultMilli: 275}", want: []string{"shared.defaultMilli: 275 must be minMilli (100) plus a multiple of milliStep (50)"}},
		{name: "defaultMilli whole GPU", in: "shared: {defaultMilli: 1000}"},
		{name: "minMemory zero", in: "shared: {minMemory: '0'}", want: []string{"shared.minMemory: 0 must be a positive whole number of bytes"}},
		{name: "memoryStep negative", in: "shared: {memoryStep: -256Mi}", want: []string{"shared.memoryStep: -256Mi must be a positive whole number of bytes"}},
		{name: "memoryStep fractional", in: "shared: {memoryStep: 500m}", want: []string{"shared.memoryStep: 500m must be a positive whole number of bytes"}},
		{name: "strategy unknown", in: "shared: {strategy: mps}", want: []string{`shared.strategy: unknown strategy "mps": want TimeSlicing or MPS`}},

		// MIG.
		{name: "profile case", in: "mig: {profiles: [1G.10GB]}", want: []string{`mig.profiles[0]: "1G.10GB" is not a MIG profile name`}},
		{name: "profile typo", in: "mig: {profiles: [1g.10gb, 1g10gb]}", want: []string{`mig.profiles[1]: "1g10gb" is not a MIG profile name`}},
		{name: "profile suffix unknown", in: "mig: {profiles: [1g.10gb+mee]}", want: []string{`mig.profiles[0]: "1g.10gb+mee" is not`}},
		{name: "profile zero", in: "mig: {profiles: [0g.10gb]}", want: []string{"mig.profiles[0]"}},
		{name: "profile duplicate", in: "mig: {profiles: [3g.40gb, 1g.10gb, 3g.40gb]}", want: []string{"mig.profiles[2]: 3g.40gb is already listed at profiles[0]"}},

		{name: "every problem reported in order", in: "defaultMode: x\ngpus: [{mode: bogus}]\nshared: {minMilli: 0}\nmig: {profiles: [z]}\n",
			want: []string{"defaultMode:", "gpus[0]: exactly one", "gpus[0].mode:", "mig.profiles[0]:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			stricttest.CheckErr(t, err, tt.want)
			if err != nil {
				if c != nil {
					t.Fatal("Parse returned both a config and an error")
				}
				return
			}
			if c.DefaultMode == "" || c.Shared.MinMemory == nil || c.Shared.MemoryStep == nil || c.Shared.Strategy == "" {
				t.Fatalf("defaults not filled: %+v", c)
			}
		})
	}
}

func TestValidateWithoutDefaults(t *testing.T) {
	// A Config built in code is judged with its defaults.
	if err := (&Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	c := &Config{GPUs: []GPURule{{Index: intPtr(0), Mode: "bogus"}}}
	stricttest.CheckErr(t, c.Validate(), []string{"gpus[0].mode: unknown GPU mode"})
	if c.Shared.MinMilli != 0 {
		t.Fatal("Validate changed the config")
	}
	var nilCfg *Config
	stricttest.CheckErr(t, nilCfg.Validate(), []string{"nil Config"})
}

func TestModeFor(t *testing.T) {
	c := &Config{
		DefaultMode: ModeShared,
		GPUs: []GPURule{
			{UUID: "GPU-6f1e2d3c-0a1b-4c5d-8e9f-0123456789ab", Mode: ModeWhole},
			{Index: intPtr(1), Mode: ModeMIG},
			{Model: "h100", Mode: ModeMIG},
			{Index: intPtr(2), Mode: ModeWhole},
			{Mode: ModeWhole}, // no selector: matches nothing
		},
	}
	const uuid = "GPU-6F1E2D3C-0A1B-4C5D-8E9F-0123456789AB"
	tests := []struct {
		name string
		g    GPUIdentity
		want Mode
	}{
		{"uuid beats a later index rule", GPUIdentity{Index: 1, UUID: uuid}, ModeWhole},
		{"index", GPUIdentity{Index: 1, UUID: "GPU-other"}, ModeMIG},
		{"model, ignoring case", GPUIdentity{Index: 5, Model: "NVIDIA H100 80GB HBM3"}, ModeMIG},
		{"model beats a later index rule", GPUIdentity{Index: 2, Model: "NVIDIA H100 80GB HBM3"}, ModeMIG},
		{"later index rule", GPUIdentity{Index: 2, Model: "NVIDIA A100-SXM4-40GB"}, ModeWhole},
		{"index 0 is a real selector", GPUIdentity{Index: 0}, ModeShared},
		{"default", GPUIdentity{Index: 7, Model: "NVIDIA L4"}, ModeShared},
	}
	for _, tt := range tests {
		if got := c.ModeFor(tt.g); got != tt.want {
			t.Errorf("%s: ModeFor(%+v) = %s, want %s", tt.name, tt.g, got, tt.want)
		}
	}
	if got := (&Config{}).ModeFor(GPUIdentity{}); got != ModeWhole {
		t.Errorf("empty config: %s", got)
	}
	var nilCfg *Config
	if got := nilCfg.ModeFor(GPUIdentity{}); got != ModeWhole {
		t.Errorf("nil config: %s", got)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes() {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%s) = %s, %v", m, got, err)
		}
	}
	for _, s := range []string{"", "Whole", " mig", "exclusive"} {
		_, err := ParseMode(s)
		stricttest.CheckErr(t, err, []string{"unknown GPU mode", "(valid modes: whole, mig, shared)"})
	}
}

func TestWithDefaultMode(t *testing.T) {
	c, err := Parse([]byte("defaultMode: mig\ngpus: [{index: 0, mode: whole}]\nmig: {profiles: [1g.10gb]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaultMode(ModeShared)
	if d.DefaultMode != ModeShared || c.DefaultMode != ModeMIG {
		t.Fatalf("override: %s, original now %s", d.DefaultMode, c.DefaultMode)
	}
	if d.ModeFor(GPUIdentity{Index: 0}) != ModeWhole || d.ModeFor(GPUIdentity{Index: 1}) != ModeShared {
		t.Fatal("the flag must change the default only, not the rules")
	}
	// The copy is deep: changing it leaves the original alone.
	*d.GPUs[0].Index = 9
	d.MIG.Profiles[0] = "7g.80gb"
	d.Shared.MinMemory.Add(resource.MustParse("1Gi"))
	if *c.GPUs[0].Index != 0 || c.MIG.Profiles[0] != "1g.10gb" || c.Shared.MinMemory.Value() != 1<<30 {
		t.Fatal("WithDefaultMode shares state with the original")
	}
	if e := c.WithDefaultMode(""); e.DefaultMode != ModeMIG {
		t.Fatal("an empty mode must not override")
	}
	var nilCfg *Config
	if n := nilCfg.WithDefaultMode(ModeMIG); n.DefaultMode != ModeMIG || n.Validate() != nil {
		t.Fatal("nil config")
	}
	stricttest.CheckErr(t, c.WithDefaultMode("bogus").Validate(), []string{"defaultMode: unknown GPU mode"})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, exampleYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("gpus: [{index: 0}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	stricttest.CheckErr(t, err, []string{bad, "gpus[0].mode: required"})

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileBytes+10), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(big)
	stricttest.CheckErr(t, err, []string{big, "more than the limit"})

	missing := filepath.Join(dir, "missing.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v", err)
	}
}
