package scoring

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// NewFactory returns a score plugin's factory: it decodes the plugin's
// arguments with decode and builds the plugin with newPlugin on the
// scheduler's DRA manager and feature gates. Plugins built from one
// model.Shared share the device model.
func NewFactory[A any, P fwk.Plugin](shared *model.Shared, decode func(runtime.Object) (A, error), newPlugin func(A, Base) P) frameworkruntime.PluginFactory {
	return func(_ context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
		args, err := decode(obj)
		if err != nil {
			return nil, err
		}
		fts := feature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate)
		return newPlugin(args, NewBase(fh.SharedDRAManager(), shared, fts)), nil
	}
}

// Args are a score plugin's arguments.
type Args interface {
	// SetDefaults fills unset arguments.
	SetDefaults()
	// Validate checks defaulted arguments.
	Validate() error
}

// DecodeArgs reads, defaults and validates the arguments of the
// out-of-tree plugin name (a runtime.Unknown holding YAML or JSON, or nil).
func DecodeArgs[A any, PA interface {
	*A
	Args
}](name string, obj runtime.Object) (*A, error) {
	args := PA(new(A))
	if err := frameworkruntime.DecodeInto(obj, args); err != nil {
		return nil, fmt.Errorf("decode %s args: %w", name, err)
	}
	args.SetDefaults()
	if err := args.Validate(); err != nil {
		return nil, err
	}
	return args, nil
}
