package tenantquota

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
)

// Name is the plugin's name in the registry and in profiles.
const Name = "TenantQuota"

// Plugin enforces per-tenant device quotas. Each profile has its own
// Plugin; they share the scheduler's keeper.
type Plugin struct {
	k *keeper
}

var (
	_ fwk.PreFilterPlugin   = &Plugin{}
	_ fwk.ReservePlugin     = &Plugin{}
	_ fwk.EnqueueExtensions = &Plugin{}
	_ fwk.SignPlugin        = &Plugin{}
)

// New is the plugin's factory for app.WithPlugin. The first profile that
// enables the plugin starts the shared quota state; the others join it.
func New(ctx context.Context, obj runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
	args, err := decodeArgs(obj)
	if err != nil {
		return nil, err
	}
	k, err := sharedKeeper(ctx, args, fh)
	if err != nil {
		return nil, err
	}
	return &Plugin{k: k}, nil
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }

// Close releases the profile's share of the quota state; the scheduler
// calls it when it stops.
func (pl *Plugin) Close() error {
	pl.k.release()
	return nil
}

// SignPod refuses pods with claims, as the DynamicResources plugin does:
// their quota check depends on the claims and on what is in flight,
// which no signature fragment covers. Other pods are never rejected
// here and sign without fragments.
func (pl *Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if len(pod.Spec.ResourceClaims) > 0 {
		return nil, fwk.NewStatus(fwk.Unschedulable, "pods with DRA resource claims are not signable")
	}
	return nil, nil
}
