package workspace

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// maxProfileFileBytes bounds what the parser reads: a ConfigMap holds at
// most 1 MiB, and a longer file is not a profile list.
const maxProfileFileBytes = 1 << 20

// ParseProfiles decodes a profile file strictly (unknown fields are
// errors) and validates every profile against v. The error names each
// bad field and says what is wrong with it.
func ParseProfiles(data []byte, v *Validator) ([]Profile, error) {
	if len(data) > maxProfileFileBytes {
		return nil, fmt.Errorf("profile file is %d bytes, more than the %d a ConfigMap can hold", len(data), maxProfileFileBytes)
	}
	var file ProfileFile
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return nil, fmt.Errorf("decode profiles: %w", err)
	}
	if err := v.Validate(file.Profiles); err != nil {
		return nil, err
	}
	return file.Profiles, nil
}
