package replay

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/profile"

	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/draview"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
	"github.com/hadron-sched/hadron/scheduler-plugin/idlepower"
	"github.com/hadron-sched/hadron/scheduler-plugin/numaaffinity"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
	"github.com/hadron-sched/hadron/scheduler-plugin/tenantquota"
)

func names(ps []config.Plugin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestPoliciesBuildRunnableSchedulers(t *testing.T) {
	target := []fragmentation.TypicalRequest{{GPUs: 1, Weight: 3}, {GPUMilli: 460, Weight: 2}}
	policies, err := Policies(PolicySettings{Target: target, PercentageOfNodesToScore: ScoreAllNodes})
	if err != nil {
		t.Fatal(err)
	}
	if got := func() []string {
		var out []string
		for _, p := range policies {
			out = append(out, p.Name)
		}
		return out
	}(); !slices.Equal(got, []string{"default", "hadron", "best-fit", "fgd", "power"}) {
		t.Fatalf("policies %v", got)
	}
	// Which hadron scorers each policy scores with, and whether it packs.
	want := map[string]struct {
		scorers []string
		device  string
		most    bool
	}{
		"default":  {device: "DynamicResources"},
		"hadron":   {scorers: []string{numaaffinity.Name, fragmentation.Name, idlepower.Name}, device: draview.Name},
		"best-fit": {device: draview.Name, most: true},
		"fgd":      {scorers: []string{fragmentation.Name}, device: draview.Name},
		"power":    {scorers: []string{idlepower.Name}, device: draview.Name},
	}
	for _, p := range policies {
		t.Run(p.Name, func(t *testing.T) {
			if p.Description == "" {
				t.Error("no description")
			}
			cfg := schedtest.ValidConfig(t, "policy "+p.Name, p.SchedulerConfig)
			if cfg.Parallelism != 1 || cfg.PercentageOfNodesToScore == nil || *cfg.PercentageOfNodesToScore != 100 {
				t.Errorf("parallelism %d, percentageOfNodesToScore %v; want 1 and 100", cfg.Parallelism, cfg.PercentageOfNodesToScore)
			}
			if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName != p.ProfileName {
				t.Fatalf("want one profile named %s, got %d", p.ProfileName, len(cfg.Profiles))
			}
			// The scheduler builds with hadron's plugins and their
			// arguments.
			_, ctx := ktesting.NewTestContext(t)
			client := fake.NewClientset()
			informerFactory := informers.NewSharedInformerFactory(client, 0)
			broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
			sched, err := scheduler.New(ctx, client, informerFactory, nil, profile.NewRecorderFactory(broadcaster),
				scheduler.WithProfiles(cfg.Profiles...), scheduler.WithFrameworkOutOfTreeRegistry(schedulerplugin.Registry()),
				scheduler.WithParallelism(cfg.Parallelism), scheduler.WithPercentageOfNodesToScore(cfg.PercentageOfNodesToScore))
			if err != nil {
				t.Fatalf("build scheduler: %v", err)
			}
			fw := sched.Profiles[p.ProfileName]
			plugins := fw.ListPlugins()
			w := want[p.Name]
			scores := names(plugins.Score.Enabled)
			for _, s := range []string{numaaffinity.Name, fragmentation.Name, idlepower.Name} {
				if slices.Contains(scores, s) != slices.Contains(w.scorers, s) {
					t.Errorf("scores %v: %s enabled %v, want %v", scores, s, slices.Contains(scores, s), slices.Contains(w.scorers, s))
				}
			}
			filters := names(plugins.Filter.Enabled)
			if !slices.Contains(filters, w.device) || !slices.Contains(names(plugins.Reserve.Enabled), tenantquota.Name) {
				t.Errorf("filters %v, reserve %v: want %s and TenantQuota", filters, names(plugins.Reserve.Enabled), w.device)
			}
			var strategy config.ScoringStrategyType
			var fgdArgs *fragmentation.Args
			for _, pc := range cfg.Profiles[0].PluginConfig {
				if a, ok := pc.Args.(*config.NodeResourcesFitArgs); ok {
					strategy = a.ScoringStrategy.Type
				}
				if pc.Name == fragmentation.Name {
					fgdArgs = &fragmentation.Args{}
					if err := decodeUnknown(pc.Args, fgdArgs); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := strategy == config.MostAllocated; got != w.most {
				t.Errorf("NodeResourcesFit strategy %s", strategy)
			}
			if slices.Contains(w.scorers, fragmentation.Name) && (fgdArgs == nil || !slices.Equal(fgdArgs.TargetWorkload, target)) {
				t.Errorf("GPUFragmentation args %+v, want target %v", fgdArgs, target)
			}
		})
	}
}

func TestPoliciesSelectByName(t *testing.T) {
	ps, err := Policies(PolicySettings{}, "power", "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "default" || ps[1].Name != "power" {
		t.Errorf("got %d policies", len(ps))
	}
	if _, err := Policies(PolicySettings{}, "fastest"); err == nil {
		t.Error("unknown policy accepted")
	}
}

// decodeUnknown reads the raw arguments of an out-of-tree plugin.
func decodeUnknown(obj runtime.Object, into any) error {
	u, ok := obj.(*runtime.Unknown)
	if !ok {
		return fmt.Errorf("arguments are a %T", obj)
	}
	return json.Unmarshal(u.Raw, into)
}

func TestPoliciesPercentageOfNodesToScore(t *testing.T) {
	for _, tc := range []struct {
		pct     int32
		wantErr bool
	}{
		{pct: ScoreAllNodes},
		{pct: AdaptiveNodesToScore},
		{pct: 30},
		{pct: -1, wantErr: true},
		{pct: 101, wantErr: true},
	} {
		t.Run(fmt.Sprint(tc.pct), func(t *testing.T) {
			ps, err := Policies(PolicySettings{PercentageOfNodesToScore: tc.pct}, "hadron", "default")
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				cfg := schedtest.ValidConfig(t, "policy "+p.Name, p.SchedulerConfig)
				if cfg.Parallelism != 1 || cfg.PercentageOfNodesToScore == nil || *cfg.PercentageOfNodesToScore != tc.pct {
					t.Errorf("%s: parallelism %d, percentageOfNodesToScore %v; want 1 and %d", p.Name, cfg.Parallelism, cfg.PercentageOfNodesToScore, tc.pct)
				}
				if p.PercentageOfNodesToScore != tc.pct {
					t.Errorf("%s: policy records %d", p.Name, p.PercentageOfNodesToScore)
				}
			}
		})
	}
}

func TestFeasibleNodesToFind(t *testing.T) {
	for _, tc := range []struct {
		pct   int32
		nodes int
		want  int
	}{
		{pct: 0, nodes: 40, want: 40},       // small clusters: every node
		{pct: 0, nodes: 150, want: 100},     // 49%, raised to the minimum of 100
		{pct: 0, nodes: 1213, want: 497},    // 50 - 1213/125 = 41%
		{pct: 0, nodes: 6000, want: 300},    // 50 - 48 = 2%, raised to 5%
		{pct: 0, nodes: 1000, want: 420},    // 42%
		{pct: 100, nodes: 1213, want: 1213}, // every node
		{pct: 10, nodes: 1213, want: 121},
		{pct: 5, nodes: 1213, want: 100}, // at least 100
	} {
		if got := FeasibleNodesToFind(tc.pct, tc.nodes); got != tc.want {
			t.Errorf("FeasibleNodesToFind(%d, %d) = %d, want %d", tc.pct, tc.nodes, got, tc.want)
		}
	}
}

func TestNodesToScoreNotes(t *testing.T) {
	all := []Policy{{Name: "default", PercentageOfNodesToScore: 0}, {Name: "hadron", PercentageOfNodesToScore: 0}}
	notes := nodesToScoreNotes(1213, all)
	if len(notes) != 1 || !strings.Contains(notes[0], "Every policy") || !strings.Contains(notes[0], "497 feasible nodes (40%)") {
		t.Errorf("adaptive notes %q", notes)
	}
	notes = nodesToScoreNotes(150, []Policy{{Name: "default", PercentageOfNodesToScore: 100}})
	if len(notes) != 1 || !strings.Contains(notes[0], "every node") {
		t.Errorf("all-nodes notes %q", notes)
	}
	mixed := []Policy{{Name: "default", PercentageOfNodesToScore: 100}, {Name: "hadron", PercentageOfNodesToScore: 20}}
	notes = nodesToScoreNotes(1213, mixed)
	if len(notes) != 2 || !strings.HasPrefix(notes[1], "Policy hadron") || !strings.Contains(notes[1], "242 feasible") {
		t.Errorf("mixed notes %q", notes)
	}
}

func TestCombinedProgress(t *testing.T) {
	type call struct {
		task        string
		done, total int
	}
	var got []call
	c := newCombinedProgress(func(task string, done, total int) { got = append(got, call{task, done, total}) }, 3, 10)
	// A policy reused from a checkpoint is not progress of this run.
	c.skip(10)
	// Two policies of the same name count separately.
	c.update(0, 1)
	c.update(1, 1)
	c.update(0, 2)
	c.update(1, 10)
	c.update(0, 10)
	const task = "policies to replay"
	want := []call{{task, 1, 20}, {task, 2, 20}, {task, 3, 20}, {task, 12, 20}, {task, 20, 20}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
