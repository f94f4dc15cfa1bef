package helm

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"k8s.io/kubernetes/pkg/scheduler/profile"

	"github.com/hadron-sched/hadron/deploy"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
)

// loadSchedulerConfig decodes a KubeSchedulerConfiguration as
// kube-scheduler does (versioned, defaulted, strict) and validates it.
func loadSchedulerConfig(t testing.TB, name string, data []byte) *config.KubeSchedulerConfiguration {
	t.Helper()
	obj, _, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("%s: decode KubeSchedulerConfiguration: %v", name, err)
	}
	cfg, ok := obj.(*config.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("%s: decoded a %T, want a KubeSchedulerConfiguration", name, obj)
	}
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// buildScheduler builds a scheduler of cfg's profiles with hadron's plugin
// registry, which instantiates every plugin with its arguments: an unknown
// plugin or a bad argument fails here as it would in hadron-scheduler.
func buildScheduler(t testing.TB, cfg *config.KubeSchedulerConfiguration) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset()
	informerFactory := scheduler.NewInformerFactory(client, 0, nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	if _, err := scheduler.New(ctx, client, informerFactory, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithProfiles(cfg.Profiles...),
		scheduler.WithFrameworkOutOfTreeRegistry(schedulerplugin.Registry()),
	); err != nil {
		t.Fatalf("hadron-scheduler refuses the chart's configuration: %v", err)
	}
}

func TestRenderedSchedulerConfig(t *testing.T) {
	shipped := loadSchedulerConfig(t, "deploy/scheduler/config.yaml", deploy.SchedulerConfig)
	tests := []struct {
		scenario     scenario
		wantProfiles []string
		wantLeader   bool
		leaseNS      string
	}{
		{defaults, []string{"hadron-scheduler"}, true, releaseNamespace},
		{allFeatures, []string{"default-scheduler", "hadron-scheduler"}, true, "kube-system"},
		{minimal, []string{"hadron-scheduler"}, false, releaseNamespace},
	}
	for _, tc := range tests {
		t.Run(tc.scenario.name, func(t *testing.T) {
			objs := render(t, tc.scenario)
			cmObj := findOne(t, objs, "ConfigMap", releaseName+"-scheduler-config")
			cm := toTyped(t, typedScheme(t), cmObj).(*corev1.ConfigMap)
			cfg := loadSchedulerConfig(t, "rendered ConfigMap", []byte(cm.Data["config.yaml"]))
			buildScheduler(t, cfg)

			// The profiles are deploy/scheduler/config.yaml's.
			want := map[string]config.KubeSchedulerProfile{}
			for _, p := range shipped.Profiles {
				want[p.SchedulerName] = p
			}
			var names []string
			for _, p := range cfg.Profiles {
				names = append(names, p.SchedulerName)
				if diff := cmp.Diff(want[p.SchedulerName], p); diff != "" {
					t.Errorf("profile %s differs from deploy/scheduler/config.yaml (-deploy +chart):\n%s", p.SchedulerName, diff)
				}
			}
			if diff := cmp.Diff(tc.wantProfiles, names); diff != "" {
				t.Errorf("profiles (-want +got):\n%s", diff)
			}
			le := cfg.LeaderElection
			if le.LeaderElect != tc.wantLeader || le.ResourceName != "hadron-scheduler" || le.ResourceNamespace != tc.leaseNS || le.ResourceLock != "leases" {
				t.Errorf("leader election %+v, want leaderElect %v on Lease %s/hadron-scheduler", le, tc.wantLeader, tc.leaseNS)
			}
			if cfg.ClientConnection.QPS != 100 || cfg.ClientConnection.Burst != 200 {
				t.Errorf("client connection %+v, want the chart's qps 100, burst 200", cfg.ClientConnection)
			}
		})
	}
}
