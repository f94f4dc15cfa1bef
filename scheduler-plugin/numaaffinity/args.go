package numaaffinity

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Args are the plugin's arguments.
type Args struct {
	// PCIeRootPercent is the part of the score (0-100) given to serving
	// the pod's GPUs and NICs from one PCIe root; the rest rewards one
	// NUMA node. Default 25: sharing a NUMA node matters most (memory
	// and CPU locality for every device), a shared PCIe root adds
	// GPUDirect RDMA between a GPU and its NIC.
	PCIeRootPercent *int32 `json:"pcieRootPercent,omitempty"`
}

// DefaultPCIeRootPercent is PCIeRootPercent's default.
const DefaultPCIeRootPercent = 25

// SetDefaults fills unset arguments.
func (a *Args) SetDefaults() {
	if a.PCIeRootPercent == nil {
		a.PCIeRootPercent = ptr.To[int32](DefaultPCIeRootPercent)
	}
}

// Validate checks defaulted arguments.
func (a *Args) Validate() error {
	if p := *a.PCIeRootPercent; p < 0 || p > 100 {
		return fmt.Errorf("%s args: pcieRootPercent is %d; it must be between 0 and 100", Name, p)
	}
	return nil
}

// decodeArgs reads, defaults and validates the arguments of an out-of-tree
// plugin (a runtime.Unknown holding YAML or JSON, or nil).
func decodeArgs(obj runtime.Object) (*Args, error) {
	return scoring.DecodeArgs[Args](Name, obj)
}
