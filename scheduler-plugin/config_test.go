package schedulerplugin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"

	"github.com/hadron-sched/hadron/deploy"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/alignment"
	"github.com/hadron-sched/hadron/scheduler-plugin/draview"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
	"github.com/hadron-sched/hadron/scheduler-plugin/idlepower"
	"github.com/hadron-sched/hadron/scheduler-plugin/numaaffinity"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
	"github.com/hadron-sched/hadron/scheduler-plugin/tenantquota"
)

const (
	hadronProfile  = "hadron-scheduler"
	defaultProfile = "default-scheduler"
)

// newScheduler starts the informers of the scheduler of the shipped
// configuration, with hadron's registry, on a fake API server; mutate
// adjusts every profile first.
func newScheduler(ctx context.Context, t *testing.T, client *fake.Clientset, mutate ...func(*config.KubeSchedulerProfile)) *scheduler.Scheduler {
	t.Helper()
	cfg := schedtest.ShippedConfig(t)
	for i := range cfg.Profiles {
		for _, m := range mutate {
			m(&cfg.Profiles[i])
		}
	}
	return schedtest.Start(ctx, t, client, schedulerplugin.Registry(), cfg).Scheduler
}

func pluginNames(ps []config.Plugin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestRegistryNamesMatchPlugins(t *testing.T) {
	want := []string{alignment.Name, draview.Name, numaaffinity.Name, idlepower.Name, fragmentation.Name, tenantquota.Name}
	for _, name := range want {
		if _, ok := schedulerplugin.Registry()[name]; !ok {
			t.Errorf("registry lacks %s", name)
		}
	}
}

func TestShippedConfig(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched := newScheduler(ctx, t, fake.NewClientset())
	hadron := sched.Profiles[hadronProfile]
	if hadron == nil {
		t.Fatalf("no %s profile", hadronProfile)
	}
	plugins := hadron.ListPlugins()
	points := map[string][]config.Plugin{
		"PreEnqueue": plugins.PreEnqueue.Enabled, "PreFilter": plugins.PreFilter.Enabled, "Filter": plugins.Filter.Enabled,
		"PostFilter": plugins.PostFilter.Enabled, "PreScore": plugins.PreScore.Enabled, "Score": plugins.Score.Enabled,
		"Reserve": plugins.Reserve.Enabled, "PreBind": plugins.PreBind.Enabled, "PodGroupPostFilter": plugins.PodGroupPostFilter.Enabled,
	}
	for point, enabled := range points {
		names := pluginNames(enabled)
		// Both plugins in one profile would share upstream's cycle-state
		// key and pod indexer.
		if slices.Contains(names, "DynamicResources") {
			t.Errorf("%s of %s runs DynamicResources: %v", point, hadronProfile, names)
		}
	}
	for _, point := range []string{"PreEnqueue", "PreFilter", "Filter", "PostFilter", "Reserve", "PreBind"} {
		if !slices.Contains(pluginNames(points[point]), draview.Name) {
			t.Errorf("%s of %s lacks %s: %v", point, hadronProfile, draview.Name, pluginNames(points[point]))
		}
	}
	// An idle claim is deallocated before running pods are preempted.
	for _, point := range []string{"PostFilter", "PodGroupPostFilter"} {
		if got, want := pluginNames(points[point]), []string{draview.Name, names.DefaultPreemption}; !slices.Equal(got, want) {
			t.Errorf("%s of %s: %v, want %v", point, hadronProfile, got, want)
		}
	}
	// DeviceAlignment's reason reaches the pod only if it filters first.
	filters := pluginNames(points["Filter"])
	if a, d := slices.Index(filters, alignment.Name), slices.Index(filters, draview.Name); a < 0 || a > d {
		t.Errorf("filters %v: want %s before %s", filters, alignment.Name, draview.Name)
	}
	weights := map[string]int32{}
	for _, p := range points["Score"] {
		weights[p.Name] = p.Weight
	}
	for name, want := range map[string]int32{numaaffinity.Name: 3, fragmentation.Name: 3, idlepower.Name: 2, draview.Name: 2} {
		if weights[name] != want {
			t.Errorf("score weight of %s is %d, want %d", name, weights[name], want)
		}
	}

	// The default profile stays pure upstream, for comparison.
	def := sched.Profiles[defaultProfile].ListPlugins()
	for _, p := range slices.Concat(def.PreFilter.Enabled, def.Filter.Enabled, def.Score.Enabled) {
		if slices.Contains([]string{draview.Name, alignment.Name, numaaffinity.Name, fragmentation.Name, idlepower.Name}, p.Name) {
			t.Errorf("%s runs hadron's %s", defaultProfile, p.Name)
		}
	}
	if !slices.Contains(pluginNames(def.Filter.Enabled), "DynamicResources") {
		t.Errorf("%s does not run DynamicResources", defaultProfile)
	}

	// Every plugin signs, so batching stays on. Upstream's
	// PodTopologySpread refuses every pod under its default constraints,
	// so it is left out to see the others: a pod without claims then gets
	// a signature in both profiles.
	noSpread := func(p *config.KubeSchedulerProfile) {
		p.Plugins.MultiPoint.Enabled = slices.DeleteFunc(p.Plugins.MultiPoint.Enabled, func(pl config.Plugin) bool {
			return pl.Name == names.PodTopologySpread
		})
	}
	signing := newScheduler(ctx, t, fake.NewClientset(), noSpread)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain"}, Spec: v1.PodSpec{SchedulerName: hadronProfile}}
	for _, name := range []string{hadronProfile, defaultProfile} {
		if signing.Profiles[name].SignPod(ctx, pod) == nil {
			t.Errorf("profile %s does not sign a pod without claims: signatures are off", name)
		}
	}
}

// TestBothDynamicResourcesPluginsRefused: a profile that runs upstream's
// DynamicResources beside HadronDynamicResources must not start, because
// both would use the same cycle-state key and pod indexer.
func TestBothDynamicResourcesPluginsRefused(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The shipped file with DynamicResources left enabled in the hadron
	// profile, decoded so that it gets its default arguments.
	const disabled = "      disabled:\n      - name: DynamicResources\n"
	raw := string(deploy.SchedulerConfig)
	if strings.Count(raw, disabled) != 1 {
		t.Fatalf("deploy/scheduler/config.yaml does not disable DynamicResources once in multiPoint")
	}
	raw = strings.Replace(raw, disabled, "      disabled:\n", 1)
	_, _, err := schedtest.NewScheduler(ctx, fake.NewClientset(), schedulerplugin.Registry(), schedtest.DecodeConfig(t, []byte(raw)))
	if err == nil {
		t.Fatal("a profile with both DynamicResources and HadronDynamicResources started")
	}
	t.Logf("refused as expected: %v", err)
}
