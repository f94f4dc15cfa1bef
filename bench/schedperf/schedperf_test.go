package schedperf_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	_ "k8s.io/component-base/logs/json/register" // scheduler_perf's -logging-format=json, as upstream's benchmarks link it
	"k8s.io/dynamic-resource-allocation/structured"
	fwk "k8s.io/kube-scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
	"k8s.io/kubernetes/test/utils/client-go/ktesting"

	"github.com/hadron-sched/hadron/bench/schedperf"
	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/kube"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
)

// TestMain registers and parses scheduler_perf's flags
// (-perf-scheduling-label-filter, -data-items-dir, ...). It starts
// nothing: etcd and the API server are started per workload, and only by
// the benchmark.
func TestMain(m *testing.M) {
	if err := perf.InitTests(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// BenchmarkSchedulingDRA runs upstream's DRA scheduler_perf workloads
// (schedperf.Sources) with upstream's default profile and with hadron's
// profile: BenchmarkSchedulingDRA/<variant>/<source>/<test case>/<workload>.
// Run it with -benchtime=1x (each workload is one measurement) and etcd
// on PATH; -perf-scheduling-label-filter picks the smoke or the
// performance set, -data-items-dir keeps the results as JSON.
// `hadron bench scheduler-perf` runs it and writes the report.
func BenchmarkSchedulingDRA(b *testing.B) {
	if _, err := exec.LookPath("etcd"); err != nil {
		b.Skip("etcd is not on PATH; `make build` builds one into _output/bin")
	}
	perfDir, err := schedperf.PerfDir(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	files, err := schedperf.WriteConfigs(b.TempDir(), perfDir, deploy.SchedulerConfig)
	if err != nil {
		b.Fatal(err)
	}
	plugins := newPerSchedulerRegistry()
	// Per-plugin metrics (scheduler_plugin_execution_duration_seconds)
	// are only collected for the plugins named here.
	for _, name := range plugins.names {
		if !slices.Contains(perf.PluginNames, name) {
			perf.PluginNames = append(perf.PluginNames, name)
		}
	}
	for _, v := range schedperf.Variants {
		b.Run(v.Name, func(b *testing.B) {
			for _, src := range schedperf.Sources {
				b.Run(src.Name, func(b *testing.B) {
					structured.EnableAllocators(src.Allocator)
					defer structured.EnableAllocators()
					// Both variants get the same registry and the same
					// Tenant CRD, so that their clusters differ only in
					// the profile; the default profile enables none of
					// hadron's plugins.
					perf.RunBenchmarkPerfScheduling(b, files[v.Name][src.Name], v.Name, plugins.registry(),
						perf.WithPreRunFn(plugins.reset), perf.WithPrepareFn(installCRDs))
				})
			}
		})
	}
}

// installCRDs installs the Tenant CRD that hadron ships for clusters
// without Capsule. TenantQuota watches Tenants; without the CRD it would
// keep polling discovery for it. scheduler_perf's namespaces name no
// tenant, so TenantQuota looks up each pod's namespace and lets it pass.
func installCRDs(tCtx ktesting.TContext) error {
	applier, err := kube.NewApplier(tCtx.RESTConfig())
	if err != nil {
		return err
	}
	return applier.ApplyFS(tCtx, deploy.CRDs, "crds/*.yaml", "")
}

// perSchedulerRegistry gives each workload's scheduler its own
// schedulerplugin.Registry(): the plugins of one registry share state
// meant for one scheduler, while scheduler_perf takes one registry for
// all the schedulers it starts, one per workload.
type perSchedulerRegistry struct {
	names []string

	mu      sync.Mutex
	current frameworkruntime.Registry
}

func newPerSchedulerRegistry() *perSchedulerRegistry {
	current := schedulerplugin.Registry()
	return &perSchedulerRegistry{names: slices.Sorted(maps.Keys(current)), current: current}
}

// reset is a scheduler_perf PreRunFn: it runs before each workload's
// scheduler starts.
func (r *perSchedulerRegistry) reset(ktesting.TContext, *perf.Workload) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = schedulerplugin.Registry()
	return nil, nil
}

// registry returns factories that build each plugin from the current
// workload's registry.
func (r *perSchedulerRegistry) registry() frameworkruntime.Registry {
	out := frameworkruntime.Registry{}
	for _, name := range r.names {
		out[name] = func(ctx context.Context, args runtime.Object, fh fwk.Handle) (fwk.Plugin, error) {
			r.mu.Lock()
			factory := r.current[name]
			r.mu.Unlock()
			return factory(ctx, args, fh)
		}
	}
	return out
}
