package tenantquota

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	fwk "k8s.io/kube-scheduler/framework"
)

func TestDecodeArgs(t *testing.T) {
	for name, tc := range map[string]struct {
		obj     runtime.Object
		want    Args
		wantErr string
	}{
		"nil gives defaults": {
			want: Args{TenantLabel: DefaultTenantLabel, ConfigMapName: DefaultConfigMapName, PublishInterval: &metav1.Duration{Duration: 2 * time.Second}},
		},
		"empty raw gives defaults": {
			obj:  &runtime.Unknown{},
			want: Args{TenantLabel: DefaultTenantLabel, ConfigMapName: DefaultConfigMapName, PublishInterval: &metav1.Duration{Duration: 2 * time.Second}},
		},
		"JSON": {
			obj:  &runtime.Unknown{Raw: []byte(`{"tenantLabel":"example.com/tenant","configMapName":"quota","publishInterval":"500ms"}`)},
			want: Args{TenantLabel: "example.com/tenant", ConfigMapName: "quota", PublishInterval: &metav1.Duration{Duration: 500 * time.Millisecond}},
		},
		"YAML": {
			obj:  &runtime.Unknown{ContentType: runtime.ContentTypeYAML, Raw: []byte("publishInterval: 0s\n")},
			want: Args{TenantLabel: DefaultTenantLabel, ConfigMapName: DefaultConfigMapName, PublishInterval: &metav1.Duration{}},
		},
		"typed": {
			obj:  &Args{ConfigMapName: "q"},
			want: Args{TenantLabel: DefaultTenantLabel, ConfigMapName: "q", PublishInterval: &metav1.Duration{Duration: 2 * time.Second}},
		},
		"unknown field":      {obj: &runtime.Unknown{Raw: []byte(`{"publishIntervall":"1s"}`)}, wantErr: `unknown field "publishIntervall"`},
		"bad label":          {obj: &runtime.Unknown{Raw: []byte(`{"tenantLabel":"not a label"}`)}, wantErr: "args.tenantLabel"},
		"bad ConfigMap name": {obj: &runtime.Unknown{Raw: []byte(`{"configMapName":"Quota_1"}`)}, wantErr: "args.configMapName"},
		"negative interval":  {obj: &runtime.Unknown{Raw: []byte(`{"publishInterval":"-1s"}`)}, wantErr: "args.publishInterval"},
		"too short interval": {obj: &runtime.Unknown{Raw: []byte(`{"publishInterval":"1ms"}`)}, wantErr: "at least 100ms"},
		"wrong type":         {obj: &metav1.Status{}, wantErr: "want *runtime.Unknown"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeArgs(tc.obj)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !argsEqual(got, &tc.want) {
				t.Errorf("args %+v (interval %v), want %+v (interval %v)", got, got.PublishInterval, tc.want, tc.want.PublishInterval)
			}
		})
	}
}

// handleWithFactory is the part of a framework handle sharedKeeper reads
// when the scheduler already has a keeper.
type handleWithFactory struct {
	fwk.Handle
	factory informers.SharedInformerFactory
}

func (h handleWithFactory) SharedInformerFactory() informers.SharedInformerFactory { return h.factory }
func (h handleWithFactory) ProfileName() string                                    { return "second" }

// TestProfilesShareOneKeeper: the profiles of one scheduler share its
// keeper, must give the same arguments, and the last Close stops it.
func TestProfilesShareOneKeeper(t *testing.T) {
	h := newHarness(t)
	factory := informers.NewSharedInformerFactory(h.client, 0)
	stopped := false
	h.k.cancel = func() { stopped = true }
	h.k.refs = 1
	keepers.Lock()
	keepers.byFactory[factory] = h.k
	keepers.Unlock()

	other := &Args{PublishInterval: &metav1.Duration{Duration: time.Second}}
	other.SetDefaults()
	if _, err := sharedKeeper(h.ctx(), other, handleWithFactory{factory: factory}); err == nil || !strings.Contains(err.Error(), "profile second has different arguments") {
		t.Errorf("different arguments: %v", err)
	}
	same := &Args{}
	same.SetDefaults()
	k, err := sharedKeeper(h.ctx(), same, handleWithFactory{factory: factory})
	if err != nil || k != h.k {
		t.Fatalf("same arguments: keeper %p, err %v; want %p", k, err, h.k)
	}
	first, second := &Plugin{k: k}, &Plugin{k: k}
	_ = first.Close()
	if stopped {
		t.Fatal("stopped while a profile still uses it")
	}
	_ = second.Close()
	keepers.Lock()
	_, left := keepers.byFactory[factory]
	keepers.Unlock()
	if !stopped || left {
		t.Errorf("after the last Close: stopped %v, still registered %v", stopped, left)
	}
}
