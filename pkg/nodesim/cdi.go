package nodesim

import (
	"fmt"

	cdiapi "tags.cncf.io/container-device-interface/pkg/cdi"
)

// cdiResolver does what a CDI-enabled container runtime does with the
// device IDs the kubelet hands it: look each one up in the spec directory.
type cdiResolver struct {
	dir string
}

func (r *cdiResolver) resolve(id string) error {
	cache, err := cdiapi.NewCache(cdiapi.WithSpecDirs(r.dir), cdiapi.WithAutoRefresh(false))
	if err != nil {
		return fmt.Errorf("read CDI specs in %s: %w", r.dir, err)
	}
	if cache.GetDevice(id) == nil {
		return fmt.Errorf("CDI device %q not found in %s (spec errors: %v)", id, r.dir, cache.GetErrors())
	}
	return nil
}
