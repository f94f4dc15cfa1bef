package idlepower

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// Args are the plugin's arguments (see the package documentation for the
// power model they parameterise).
type Args struct {
	// IdleCharged charges a device's idle power to the pod that wakes it:
	// an idle GPU can drop to its lowest power state, an idle package to
	// deep C-states, and a node whose devices are all idle can be
	// powered down, so keeping devices idle saves their idle power.
	// Default true; false is the PWR model's accounting, where idle power
	// is drawn whatever the placement.
	IdleCharged *bool `json:"idleCharged,omitempty"`
	// ActiveFloorPercent is the part of the dynamic range (Max - Idle) an
	// active device draws at any load: clocks and memory leave their idle
	// states as soon as a context or share exists. Default 30; 100 is the
	// binary model.
	ActiveFloorPercent *int32 `json:"activeFloorPercent,omitempty"`
	// UtilizationPercent is how busy allocated capacity is expected to
	// be. Default 80.
	UtilizationPercent *int32 `json:"utilizationPercent,omitempty"`
}

// Argument defaults.
const (
	DefaultIdleCharged        = true
	DefaultActiveFloorPercent = 30
	DefaultUtilizationPercent = 80
)

// SetDefaults fills unset arguments.
func (a *Args) SetDefaults() {
	if a.IdleCharged == nil {
		a.IdleCharged = ptr.To(DefaultIdleCharged)
	}
	if a.ActiveFloorPercent == nil {
		a.ActiveFloorPercent = ptr.To[int32](DefaultActiveFloorPercent)
	}
	if a.UtilizationPercent == nil {
		a.UtilizationPercent = ptr.To[int32](DefaultUtilizationPercent)
	}
}

// Validate checks defaulted arguments.
func (a *Args) Validate() error {
	if p := *a.ActiveFloorPercent; p < 0 || p > 100 {
		return fmt.Errorf("%s args: activeFloorPercent is %d; it must be between 0 and 100", Name, p)
	}
	if p := *a.UtilizationPercent; p < 0 || p > 100 {
		return fmt.Errorf("%s args: utilizationPercent is %d; it must be between 0 and 100", Name, p)
	}
	return nil
}

// powerModel is the validated model.
type powerModel struct {
	idleCharged        bool
	floor, utilization float64
}

func (a *Args) model() powerModel {
	return powerModel{idleCharged: *a.IdleCharged, floor: float64(*a.ActiveFloorPercent) / 100, utilization: float64(*a.UtilizationPercent) / 100}
}

// decodeArgs reads, defaults and validates the arguments of an out-of-tree
// plugin (a runtime.Unknown holding YAML or JSON, or nil).
func decodeArgs(obj runtime.Object) (*Args, error) {
	return scoring.DecodeArgs[Args](Name, obj)
}
