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

// resolve checks every device ID against one read of the spec directory.
func (r *cdiResolver) resolve(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	cache, err := cdiapi.NewCache(cdiapi.WithSpecDirs(r.dir), cdiapi.WithAutoRefresh(false))
	if err != nil {
		return fmt.Errorf("read CDI specs in %s: %w", r.dir, err)
	}
	for _, id := range ids {
		if cache.GetDevice(id) == nil {
			return fmt.Errorf("CDI device %q not found in %s (spec errors: %v)", id, r.dir, cache.GetErrors())
		}
	}
	return nil
}
