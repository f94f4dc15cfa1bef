package v1alpha1

import (
	"encoding/json"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict"
)

// MaxConfigBytes bounds what Decode reads. A GpuConfig is a few hundred
// bytes; the bound keeps a hostile claim from costing the node plugin
// memory and time.
const MaxConfigBytes = 64 << 10

// Decode reads a GpuConfig from JSON or YAML, as found in a claim's
// opaque.parameters, normalizes and validates it.
//
// It is strict: apiVersion must be gpu.hadron.dev/v1alpha1 and kind
// GpuConfig, field names are case-sensitive, unknown and repeated fields are
// errors, and the document may be at most MaxConfigBytes. Errors are
// *FieldError or ErrorList values naming the field, e.g.
// `sharing.mps.foo: unknown field; ...`.
func Decode(raw []byte) (*GpuConfig, error) {
	js, err := strict.ToJSON(raw, MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	// Check what the document is before how it is written: field errors
	// against the wrong schema would only mislead.
	if err := checkType(js); err != nil {
		return nil, err
	}
	var c GpuConfig
	if err := strict.Unmarshal(js, &c); err != nil {
		return nil, err
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func checkType(js []byte) error {
	want := "apiVersion " + APIVersion + " and kind " + GpuConfigKind
	if string(js) == "null" {
		return strict.Errorf("", "empty configuration: want an object with %s", want)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return strict.Errorf("", "must be an object with %s", want)
	}
	apiVersion, err := stringField(top, "apiVersion")
	if err != nil {
		return err
	}
	kind, err := stringField(top, "kind")
	if err != nil {
		return err
	}
	switch {
	case apiVersion == "" && kind == "":
		return strict.Errorf("", "apiVersion and kind are required (apiVersion: %s, kind: %s)", APIVersion, GpuConfigKind)
	case apiVersion == "":
		return strict.Errorf("apiVersion", "required (want %s)", APIVersion)
	case apiVersion != APIVersion:
		return strict.Errorf("apiVersion", "unsupported apiVersion %q (want %s)", apiVersion, APIVersion)
	case kind == "":
		return strict.Errorf("kind", "required (want %s)", GpuConfigKind)
	case kind != GpuConfigKind:
		return strict.Errorf("kind", "unsupported kind %q (want %s)", kind, GpuConfigKind)
	}
	return nil
}

// stringField reads key of a JSON object if it is there; null counts as
// absent, as it does for any omitted field.
func stringField(obj map[string]json.RawMessage, key string) (string, error) {
	raw, ok := obj[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", strict.Errorf(key, "must be a string")
	}
	return s, nil
}
