package draview

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
)

// Args are the plugin's arguments: the upstream DynamicResourcesArgs,
// which the embedded plugin applies unchanged.
type Args struct {
	// FilterTimeout limits the device search per node in Filter (upstream
	// default 10s, when the DRASchedulerFilterTimeout gate is on; 0
	// disables the limit).
	FilterTimeout *metav1.Duration `json:"filterTimeout,omitempty"`
	// BindingTimeout limits how long PreBind waits for devices with
	// binding conditions (upstream default 10m, when the
	// DRADeviceBindingConditions and DRAResourceClaimDeviceStatus gates
	// are on).
	BindingTimeout *metav1.Duration `json:"bindingTimeout,omitempty"`
}

// decodeArgs reads the arguments of an out-of-tree plugin (a
// runtime.Unknown holding the YAML or JSON, or nil) and applies upstream's
// defaults for DynamicResourcesArgs.
func decodeArgs(obj runtime.Object, fts feature.Features) (*config.DynamicResourcesArgs, error) {
	var args Args
	if err := frameworkruntime.DecodeInto(obj, &args); err != nil {
		return nil, fmt.Errorf("decode %s args: %w", Name, err)
	}
	out := &config.DynamicResourcesArgs{FilterTimeout: args.FilterTimeout, BindingTimeout: args.BindingTimeout}
	if out.FilterTimeout == nil && fts.EnableDRASchedulerFilterTimeout {
		out.FilterTimeout = &metav1.Duration{Duration: config.DynamicResourcesFilterTimeoutDefault}
	}
	if out.BindingTimeout == nil && fts.EnableDRADeviceBindingConditions && fts.EnableDRAResourceClaimDeviceStatus {
		out.BindingTimeout = &metav1.Duration{Duration: config.DynamicResourcesBindingTimeoutDefault}
	}
	return out, nil
}
