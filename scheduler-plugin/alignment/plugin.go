package alignment

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/dynamic-resource-allocation/cel"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	schedmetrics "github.com/hadron-sched/hadron/scheduler-plugin/internal/metrics"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "DeviceAlignment"

// celCacheSize bounds the compiled selector expressions kept across
// scheduling cycles: the DeviceClasses' and the requests' of recent pods.
const celCacheSize = 64

// Plugin explains, per node, why a claim's matchAttribute constraint
// cannot be met there.
type Plugin struct {
	dra     fwk.SharedDRAManager
	builder checkBuilder
	// workloadClaims lets claims owned by the pod's PodGroup count as the
	// pod's own, as the DynamicResources plugin does.
	workloadClaims bool
}

var (
	_ fwk.PreFilterPlugin   = &Plugin{}
	_ fwk.FilterPlugin      = &Plugin{}
	_ fwk.EnqueueExtensions = &Plugin{}
	_ fwk.SignPlugin        = &Plugin{}
)

// New is the plugin's factory for app.WithPlugin. The plugin has no
// arguments. Feature gates are read when the scheduler builds its
// profiles, after its flags were parsed.
func New(_ context.Context, _ runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
	return newPlugin(fh.SharedDRAManager(), feature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate)), nil
}

// newPlugin builds the plugin on a DRA manager, which is nil when dynamic
// resource allocation is off; the plugin then does nothing.
func newPlugin(dra fwk.SharedDRAManager, fts feature.Features) *Plugin {
	if !fts.EnableDynamicResourceAllocation {
		dra = nil
	}
	schedmetrics.Register()
	pl := &Plugin{dra: dra, workloadClaims: fts.EnableDRAWorkloadResourceClaims}
	pl.builder = checkBuilder{
		celCache: cel.NewCache(celCacheSize, cel.Features{
			EnableConsumableCapacity: fts.EnableDRAConsumableCapacity,
			EnableListTypeAttributes: fts.EnableDRAListTypeAttributes,
		}),
		capacity: fts.EnableDRAConsumableCapacity,
		verdicts: newVerdicts(),
	}
	if dra != nil {
		pl.builder.class = dra.DeviceClasses().Get
	}
	return pl
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// SignPod refuses pods with claims, as the DynamicResources plugin does:
// the verdict depends on the claims' contents, which no signature fragment
// covers, so two such pods must not share a batch. Pods without claims
// are never rejected here and sign without fragments.
func (pl *Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if len(pod.Spec.ResourceClaims) > 0 {
		return nil, fwk.NewStatus(fwk.Unschedulable, "pods with DRA resource claims are not signable")
	}
	return nil, nil
}
