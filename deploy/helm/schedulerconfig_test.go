package helm

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/hadron-sched/hadron/deploy"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

// buildScheduler builds a scheduler of cfg's profiles with hadron's plugin
// registry, which instantiates every plugin with its arguments: an unknown
// plugin or a bad argument fails here as it would in hadron-scheduler.
func buildScheduler(t testing.TB, cfg *config.KubeSchedulerConfiguration) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, _, err := schedtest.NewScheduler(ctx, fake.NewClientset(), schedulerplugin.Registry(), cfg); err != nil {
		t.Fatalf("hadron-scheduler refuses the chart's configuration: %v", err)
	}
}

func TestRenderedSchedulerConfig(t *testing.T) {
	shipped := schedtest.ValidConfig(t, "deploy/scheduler/config.yaml", deploy.SchedulerConfig)
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
			cfg := schedtest.ValidConfig(t, "rendered ConfigMap", []byte(cm.Data["config.yaml"]))
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
