package draview

import (
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/dynamicresources"
)

// TestPluginKeepsUpstreamInterfaces: the wrapper must offer every
// extension point the upstream plugin has, or the profile silently loses
// it (a new one in a Kubernetes update, say).
func TestPluginKeepsUpstreamInterfaces(t *testing.T) {
	interfaces := []reflect.Type{
		reflect.TypeFor[fwk.PreEnqueuePlugin](), reflect.TypeFor[fwk.QueueSortPlugin](), reflect.TypeFor[fwk.EnqueueExtensions](),
		reflect.TypeFor[fwk.PreFilterPlugin](), reflect.TypeFor[fwk.FilterPlugin](), reflect.TypeFor[fwk.PostFilterPlugin](),
		reflect.TypeFor[fwk.PodGroupPostFilterPlugin](), reflect.TypeFor[fwk.PreScorePlugin](), reflect.TypeFor[fwk.ScorePlugin](),
		reflect.TypeFor[fwk.ReservePlugin](), reflect.TypeFor[fwk.PermitPlugin](), reflect.TypeFor[fwk.PreBindPlugin](),
		reflect.TypeFor[fwk.BindPlugin](), reflect.TypeFor[fwk.PostBindPlugin](),
		reflect.TypeFor[fwk.SignPlugin](),
	}
	upstream, wrapper := reflect.TypeFor[*dynamicresources.DynamicResources](), reflect.TypeFor[*Plugin]()
	for _, i := range interfaces {
		if upstream.Implements(i) && !wrapper.Implements(i) {
			t.Errorf("upstream DynamicResources implements %s, %s does not", i, Name)
		}
	}
	if got := (&Plugin{}).Name(); got != Name {
		t.Errorf("Name() = %q, want the registry name %q", got, Name)
	}
}

func TestDecodeArgs(t *testing.T) {
	fts := testFeatures
	fts.EnableDRASchedulerFilterTimeout = true
	args, err := decodeArgs(&runtime.Unknown{Raw: []byte(`{"filterTimeout": "3s"}`), ContentType: runtime.ContentTypeJSON}, fts)
	if err != nil || args.FilterTimeout.Duration != 3*time.Second {
		t.Errorf("decode: %+v, %v", args, err)
	}
	args, err = decodeArgs(nil, fts)
	if err != nil || args.FilterTimeout == nil || args.FilterTimeout.Duration != 10*time.Second {
		t.Errorf("defaults: %+v, %v", args, err)
	}
	if _, err := decodeArgs(&runtime.Unknown{Raw: []byte(`{"filterTimeout": 3}`)}, fts); err == nil {
		t.Error("malformed filterTimeout accepted")
	}
}
