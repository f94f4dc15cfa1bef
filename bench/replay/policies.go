package replay

import (
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
	"github.com/hadron-sched/hadron/scheduler-plugin/idlepower"
	"github.com/hadron-sched/hadron/scheduler-plugin/numaaffinity"
)

// Profile names of deploy/scheduler/config.yaml the policies start from.
const (
	shippedDefaultProfile = "default-scheduler"
	shippedHadronProfile  = "hadron-scheduler"
)

// hadronScorers are the hadron score plugins of the shipped hadron
// profile; the single-objective baselines keep one or none of them.
var hadronScorers = []string{numaaffinity.Name, fragmentation.Name, idlepower.Name}

// policySpec says how a policy is derived from a shipped profile.
type policySpec struct {
	name, description, from string
	// keepScorers are the hadron scorers left enabled (from profiles with
	// hadron's plugins).
	keepScorers []string
	// mostAllocated switches NodeResourcesFit to the MostAllocated
	// strategy.
	mostAllocated bool
}

var policySpecs = []policySpec{
	{name: "default", from: shippedDefaultProfile,
		description: "upstream default plugins with DynamicResources (first-fit devices), plus TenantQuota"},
	{name: "hadron", from: shippedHadronProfile, keepScorers: hadronScorers,
		description: "hadron's shipped profile: device view, NUMA affinity, GPU fragmentation, idle power, default weights"},
	{name: "best-fit", from: shippedHadronProfile, mostAllocated: true,
		description: "hadron's device view with NodeResourcesFit MostAllocated (bin packing), no other hadron scorer"},
	{name: "fgd", from: shippedHadronProfile, keepScorers: []string{fragmentation.Name},
		description: "hadron's device view with GPUFragmentation (FGD) as the only hadron scorer"},
	{name: "power", from: shippedHadronProfile, keepScorers: []string{idlepower.Name},
		description: "hadron's device view with IdlePower as the only hadron scorer"},
}

// PolicyNames lists the policies Policies builds, in order.
func PolicyNames() []string {
	out := make([]string, len(policySpecs))
	for i, s := range policySpecs {
		out[i] = s.name
	}
	return out
}

// Values of PolicySettings.PercentageOfNodesToScore.
const (
	// ScoreAllNodes filters and scores every node for every pod, as the
	// papers' simulators do.
	ScoreAllNodes int32 = 100
	// AdaptiveNodesToScore is kube-scheduler's own default: it stops
	// filtering once it has found a share of the nodes feasible that
	// shrinks as the cluster grows (numFeasibleNodes).
	AdaptiveNodesToScore int32 = 0
)

// PolicySettings are what every policy of one run shares.
type PolicySettings struct {
	// Target is GPUFragmentation's target workload (TargetWorkload of the
	// replayed workload); nil keeps the plugin's default.
	Target []fragmentation.TypicalRequest
	// PercentageOfNodesToScore is the scheduler's
	// percentageOfNodesToScore: ScoreAllNodes, AdaptiveNodesToScore or a
	// percentage in between.
	PercentageOfNodesToScore int32
}

// Policies returns the scheduling policies to compare, built from the
// profiles of deploy/scheduler/config.yaml. names selects policies by name
// (none: all).
func Policies(settings PolicySettings, names ...string) ([]Policy, error) {
	if p := settings.PercentageOfNodesToScore; p < 0 || p > 100 {
		return nil, fmt.Errorf("percentage of nodes to score is %d; it must be between 0 (the scheduler's adaptive default) and 100", p)
	}
	for _, n := range names {
		if !slices.Contains(PolicyNames(), n) {
			return nil, fmt.Errorf("unknown policy %q (known: %v)", n, PolicyNames())
		}
	}
	var out []Policy
	for _, spec := range policySpecs {
		if len(names) > 0 && !slices.Contains(names, spec.name) {
			continue
		}
		cfg, profile, err := policyConfig(deploy.SchedulerConfig, spec, settings)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", spec.name, err)
		}
		out = append(out, Policy{Name: spec.name, Description: spec.description, SchedulerConfig: cfg, ProfileName: profile,
			PercentageOfNodesToScore: settings.PercentageOfNodesToScore})
	}
	return out, nil
}

// policyConfig derives a single-profile KubeSchedulerConfiguration from
// the shipped one. It edits the YAML generically, so that plugin lists
// and arguments come from the shipped file rather than a copy.
func policyConfig(shipped []byte, spec policySpec, settings PolicySettings) ([]byte, string, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(shipped, &cfg); err != nil {
		return nil, "", fmt.Errorf("parse shipped scheduler configuration: %w", err)
	}
	profiles, _ := cfg["profiles"].([]any)
	var profile map[string]any
	for _, p := range profiles {
		if m, ok := p.(map[string]any); ok && m["schedulerName"] == spec.from {
			profile = m
		}
	}
	if profile == nil {
		return nil, "", fmt.Errorf("shipped scheduler configuration has no profile %s", spec.from)
	}
	if spec.from == shippedHadronProfile {
		if err := keepScorers(profile, spec.keepScorers); err != nil {
			return nil, "", err
		}
	}
	var args []any
	if spec.mostAllocated {
		args = append(args, map[string]any{"name": "NodeResourcesFit", "args": map[string]any{
			"scoringStrategy": map[string]any{
				"type":      "MostAllocated",
				"resources": []any{map[string]any{"name": "cpu", "weight": 1}, map[string]any{"name": "memory", "weight": 1}},
			},
		}})
	}
	if len(settings.Target) > 0 && slices.Contains(spec.keepScorers, fragmentation.Name) {
		args = append(args, map[string]any{"name": fragmentation.Name, "args": map[string]any{"targetWorkload": settings.Target}})
	}
	if len(args) > 0 {
		existing, _ := profile["pluginConfig"].([]any)
		profile["pluginConfig"] = append(existing, args...)
	}
	cfg["profiles"] = []any{profile}
	// Determinism: the scheduler filters nodes in parallel and returns the
	// feasible ones in the order the workers finish, and among nodes with
	// equal scores it picks the first of that order. With one worker the
	// nodes are filtered in a fixed order, from where the previous pod's
	// search stopped, and the search stops at the same node on every run,
	// so the order, hence every tie break, is the same whatever share of
	// the nodes is scored.
	cfg["parallelism"] = 1
	cfg["percentageOfNodesToScore"] = settings.PercentageOfNodesToScore
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("encode scheduler configuration: %w", err)
	}
	name, _ := profile["schedulerName"].(string)
	return out, name, nil
}

// keepScorers removes the hadron scorers not in keep from a profile's
// multiPoint plugins.
func keepScorers(profile map[string]any, keep []string) error {
	plugins, _ := profile["plugins"].(map[string]any)
	multiPoint, _ := plugins["multiPoint"].(map[string]any)
	enabled, ok := multiPoint["enabled"].([]any)
	if !ok {
		return fmt.Errorf("profile %v has no plugins.multiPoint.enabled", profile["schedulerName"])
	}
	var out []any
	found := map[string]bool{}
	for _, p := range enabled {
		m, _ := p.(map[string]any)
		name, _ := m["name"].(string)
		if slices.Contains(hadronScorers, name) {
			found[name] = true
			if !slices.Contains(keep, name) {
				continue
			}
		}
		out = append(out, p)
	}
	for _, name := range hadronScorers {
		if !found[name] {
			return fmt.Errorf("profile %v does not enable %s in multiPoint", profile["schedulerName"], name)
		}
	}
	multiPoint["enabled"] = out
	return nil
}
