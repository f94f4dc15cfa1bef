// Package schedulerplugin registers hadron's scheduler plugins.
package schedulerplugin

import (
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/hadron-sched/hadron/scheduler-plugin/alignment"
	"github.com/hadron-sched/hadron/scheduler-plugin/draview"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
	"github.com/hadron-sched/hadron/scheduler-plugin/idlepower"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/numaaffinity"
	"github.com/hadron-sched/hadron/scheduler-plugin/tenantquota"
)

// Registry returns hadron's plugins by name, for app.WithPlugin and for
// the out-of-tree registry of scheduler_perf. Each call returns plugins
// that share one device model per DRA manager, so the device order the
// allocator is shown and the scores agree; call it once per scheduler.
func Registry() frameworkruntime.Registry {
	shared := &model.Shared{}
	return frameworkruntime.Registry{
		alignment.Name:     alignment.New,
		draview.Name:       draview.NewFactory(shared),
		numaaffinity.Name:  numaaffinity.NewFactory(shared),
		idlepower.Name:     idlepower.NewFactory(shared),
		fragmentation.Name: fragmentation.NewFactory(shared),
		tenantquota.Name:   tenantquota.New,
	}
}
