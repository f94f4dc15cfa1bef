package reclaim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	basemetrics "k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/hadron-sched/hadron/driver/metrics"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

const testNode = "node-a"

var (
	started = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	now     = started.Add(2 * time.Hour)
)

// fakeGPUs is a GPUSource with set utilisations.
type fakeGPUs struct {
	gpus []GPU
	util map[string]int
	err  error
}

func (f *fakeGPUs) PodGPUs(*v1.Pod) []GPU { return f.gpus }
func (f *fakeGPUs) Utilization(uuid string) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	return f.util[uuid], nil
}

// wsPod is a running workspace pod on testNode started at started.
func wsPod(name string, annotations map[string]string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "research", UID: types.UID("uid-" + name), ResourceVersion: "7",
			Labels: map[string]string{workspace.LabelWorkspace: name}, Annotations: annotations},
		Spec:   v1.PodSpec{NodeName: testNode},
		Status: v1.PodStatus{Phase: v1.PodRunning, StartTime: &metav1.Time{Time: started}},
	}
}

func annotations(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func newTestReclaimer(t *testing.T, objects []*v1.Pod, gpus GPUSource) (*Reclaimer, *fake.Clientset, *clocktesting.FakeClock) {
	t.Helper()
	client := fake.NewClientset()
	for _, p := range objects {
		if _, err := client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clocktesting.NewFakeClock(now)
	r, err := New(Options{NodeName: testNode, Client: client, Interval: time.Minute, GPUs: gpus, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return r, client, clk
}

func TestDecide(t *testing.T) {
	const gpuA, gpuB = "GPU-a", "GPU-b"
	heartbeat := func(ago time.Duration) string { return now.Add(-ago).Format(time.RFC3339) }
	idleGPUs := &fakeGPUs{gpus: []GPU{{UUID: gpuA, IdleWatts: 70}, {UUID: gpuB, IdleWatts: 70}}, util: map[string]int{gpuA: 0, gpuB: 2}}
	busyGPUs := &fakeGPUs{gpus: idleGPUs.gpus, util: map[string]int{gpuA: 0, gpuB: 80}}
	for _, tc := range []struct {
		name        string
		pod         *v1.Pod
		gpus        GPUSource
		want        action
		wantProblem string
		wantIdle    time.Duration
	}{
		{name: "no annotation", pod: wsPod("plain", nil), want: keep},
		{name: "timeout 0", pod: wsPod("zero", annotations(workspace.AnnotationIdleTimeout, "0")), want: keep},
		{name: "timeout 0s", pod: wsPod("zero-s", annotations(workspace.AnnotationIdleTimeout, "0s")), want: keep},
		{name: "never active, started long ago", pod: wsPod("old", annotations(workspace.AnnotationIdleTimeout, "1h")), want: reclaim, wantIdle: 2 * time.Hour},
		{name: "start within timeout", pod: wsPod("young", annotations(workspace.AnnotationIdleTimeout, "3h")), want: keep, wantIdle: 2 * time.Hour},
		{name: "recent heartbeat", pod: wsPod("recent", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationLastActivity, heartbeat(10*time.Minute))), want: keep, wantIdle: 10 * time.Minute},
		{name: "old heartbeat", pod: wsPod("stale", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalHeartbeat, workspace.AnnotationLastActivity, heartbeat(90*time.Minute))), want: reclaim, wantIdle: 90 * time.Minute},
		{name: "heartbeat before start counts from start", pod: wsPod("restarted", annotations(workspace.AnnotationIdleTimeout, "3h", workspace.AnnotationLastActivity, heartbeat(5*time.Hour))), want: keep, wantIdle: 2 * time.Hour},
		{name: "GPU busy", pod: wsPod("training", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization)), gpus: busyGPUs, want: markActive},
		{name: "GPU busy, activity just recorded", pod: wsPod("training2", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization, workspace.AnnotationLastActivity, heartbeat(10*time.Second))), gpus: busyGPUs, want: keep},
		{name: "GPU idle", pod: wsPod("notebook", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization)), gpus: idleGPUs, want: reclaim, wantIdle: 2 * time.Hour},
		{name: "GPU idle, recent activity", pod: wsPod("notebook2", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization, workspace.AnnotationLastActivity, heartbeat(time.Minute))), gpus: idleGPUs, want: keep, wantIdle: time.Minute},
		{name: "GPU unreadable", pod: wsPod("broken", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization)), gpus: &fakeGPUs{gpus: idleGPUs.gpus, err: errors.New("NVML gone")}, want: keep, wantProblem: "NVML gone"},
		{name: "GPU signal without GPUs", pod: wsPod("cpuonly", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization)), gpus: &fakeGPUs{}, want: keep, wantProblem: "no GPU is prepared"},
		{name: "GPU signal without NVML", pod: wsPod("nonvml", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization)), want: keep, wantProblem: "not available"},
		{name: "pod not yet running", pod: func() *v1.Pod {
			p := wsPod("pending", annotations(workspace.AnnotationIdleTimeout, "1s"))
			p.Status = v1.PodStatus{Phase: v1.PodPending}
			return p
		}(), want: keep},
		{name: "pod being deleted", pod: func() *v1.Pod {
			p := wsPod("leaving", annotations(workspace.AnnotationIdleTimeout, "1s"))
			p.DeletionTimestamp = &metav1.Time{Time: now}
			return p
		}(), want: keep},
		{name: "malformed timeout", pod: wsPod("bad-timeout", annotations(workspace.AnnotationIdleTimeout, "two hours")), want: keep, wantProblem: workspace.AnnotationIdleTimeout},
		{name: "negative timeout", pod: wsPod("neg-timeout", annotations(workspace.AnnotationIdleTimeout, "-1h")), want: keep, wantProblem: "negative"},
		{name: "malformed signal", pod: wsPod("bad-signal", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, "keyboard")), want: keep, wantProblem: workspace.AnnotationActivitySignal},
		{name: "malformed heartbeat", pod: wsPod("bad-heartbeat", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationLastActivity, "yesterday")), want: keep, wantProblem: workspace.AnnotationLastActivity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := newTestReclaimer(t, nil, tc.gpus)
			if tc.gpus == nil {
				r.gpus = nil
			}
			v := r.decide(tc.pod, now)
			if v.action != tc.want {
				t.Errorf("action %d, want %d (verdict %+v)", v.action, tc.want, v)
			}
			if tc.wantIdle != 0 && v.idle != tc.wantIdle {
				t.Errorf("idle %s, want %s", v.idle, tc.wantIdle)
			}
			switch {
			case tc.wantProblem == "" && v.problem != "":
				t.Errorf("problem %q, want none", v.problem)
			case !strings.Contains(v.problem, tc.wantProblem):
				t.Errorf("problem %q, want one naming %q", v.problem, tc.wantProblem)
			}
		})
	}
}

// TestReclaim: an idle workspace is deleted, its Service is marked, an
// Event says why and the metrics count it; a fresh one is left alone.
func TestReclaim(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	idle := wsPod("idle-ws", annotations(workspace.AnnotationIdleTimeout, "1h"))
	fresh := wsPod("fresh-ws", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationLastActivity, now.Add(-time.Minute).Format(time.RFC3339)))
	gpus := &fakeGPUs{gpus: []GPU{{UUID: "GPU-1", IdleWatts: 60}}}
	r, client, _ := newTestReclaimer(t, []*v1.Pod{idle, fresh}, gpus)
	for _, name := range []string{"idle-ws", "fresh-ws"} {
		svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "research", Labels: map[string]string{workspace.LabelWorkspace: name}}}
		if _, err := client.CoreV1().Services("research").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := counterValue(t, metrics.ReclaimedWorkspaces.WithLabelValues(testNode, SignalHeartbeat))
	energyBefore := counterValue(t, metrics.IdleEnergy.WithLabelValues(testNode))

	r.check(ctx, idle)
	r.check(ctx, fresh)

	if _, err := client.CoreV1().Pods("research").Get(ctx, "idle-ws", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("idle workspace pod still there (err %v)", err)
	}
	if _, err := client.CoreV1().Pods("research").Get(ctx, "fresh-ws", metav1.GetOptions{}); err != nil {
		t.Errorf("fresh workspace pod: %v", err)
	}
	svc, err := client.CoreV1().Services("research").Get(ctx, "idle-ws", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mark := svc.Annotations[workspace.AnnotationReclaimed]
	if !strings.HasPrefix(mark, now.Format(time.RFC3339)) || !strings.Contains(mark, "idle for 2h0m0s") || !strings.Contains(mark, "1h0m0s") {
		t.Errorf("Service annotation %q, want the time, idle duration and timeout", mark)
	}
	if other, _ := client.CoreV1().Services("research").Get(ctx, "fresh-ws", metav1.GetOptions{}); other.Annotations[workspace.AnnotationReclaimed] != "" {
		t.Errorf("fresh workspace's Service marked reclaimed")
	}
	events, err := client.EventsV1().Events("research").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) != 1 || events.Items[0].Reason != ReasonReclaimed || events.Items[0].Regarding.Name != "idle-ws" ||
		!strings.Contains(events.Items[0].Note, "idle for 2h0m0s") {
		t.Errorf("events %+v, want one %s about idle-ws with the idle time", events.Items, ReasonReclaimed)
	}
	if got := counterValue(t, metrics.ReclaimedWorkspaces.WithLabelValues(testNode, SignalHeartbeat)) - before; got != 1 {
		t.Errorf("reclaimed workspaces counted: %v, want 1", got)
	}
	if got := counterValue(t, metrics.IdleEnergy.WithLabelValues(testNode)) - energyBefore; got != 2*3600*60 {
		t.Errorf("idle energy counted: %v J, want %v", got, 2*3600*60)
	}
}

// TestReclaimSkipsChangedPod: a heartbeat written after the pod was judged
// changes its version; the delete is then refused and nothing is marked.
func TestReclaimSkipsChangedPod(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	judged := wsPod("racing", annotations(workspace.AnnotationIdleTimeout, "1h"))
	r, client, _ := newTestReclaimer(t, []*v1.Pod{judged}, nil)
	// The fake clientset ignores delete preconditions; enforce them as the
	// API server does.
	client.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		del := action.(k8stesting.DeleteActionImpl)
		obj, err := client.Tracker().Get(v1.SchemeGroupVersion.WithResource("pods"), del.Namespace, del.Name)
		if err != nil {
			return false, nil, nil
		}
		pre := del.DeleteOptions.Preconditions
		if pre == nil || pre.ResourceVersion == nil || *pre.ResourceVersion != obj.(*v1.Pod).ResourceVersion {
			return true, nil, apierrors.NewConflict(v1.Resource("pods"), del.Name, errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	current, err := client.CoreV1().Pods("research").Get(ctx, "racing", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := current.DeepCopy()
	stale.ResourceVersion = "1"
	r.check(ctx, stale)
	if _, err := client.CoreV1().Pods("research").Get(ctx, "racing", metav1.GetOptions{}); err != nil {
		t.Errorf("pod judged on a stale version was deleted: %v", err)
	}
	if events, _ := client.EventsV1().Events("research").List(ctx, metav1.ListOptions{}); len(events.Items) != 0 {
		t.Errorf("events %+v after a refused delete, want none", events.Items)
	}
}

// TestMarkActive: busy GPUs are written as the workspace's heartbeat.
func TestMarkActive(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pod := wsPod("busy", annotations(workspace.AnnotationIdleTimeout, "1h", workspace.AnnotationActivitySignal, SignalGPUUtilization))
	gpus := &fakeGPUs{gpus: []GPU{{UUID: "GPU-1"}}, util: map[string]int{"GPU-1": 97}}
	r, client, clk := newTestReclaimer(t, []*v1.Pod{pod}, gpus)
	clk.Step(time.Minute)
	r.check(ctx, pod)
	got, err := client.CoreV1().Pods("research").Get(ctx, "busy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().UTC().Format(time.RFC3339); got.Annotations[workspace.AnnotationLastActivity] != want {
		t.Errorf("last activity %q, want %q", got.Annotations[workspace.AnnotationLastActivity], want)
	}
	if u, err := testutil.GetGaugeMetricValue(metrics.GPUUtilization.WithLabelValues(testNode, "GPU-1")); err != nil || u != 0.97 {
		t.Errorf("GPU utilisation gauge %v (%v), want 0.97", u, err)
	}
}

// TestProblemReportedOnce: a bad annotation gets one Warning Event, not
// one per round, and the workspace stays.
func TestProblemReportedOnce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pod := wsPod("typo", annotations(workspace.AnnotationIdleTimeout, "1 hour"))
	r, client, _ := newTestReclaimer(t, []*v1.Pod{pod}, nil)
	for range 3 {
		r.check(ctx, pod)
	}
	events, err := client.EventsV1().Events("research").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) != 1 || events.Items[0].Reason != ReasonNotReclaimable || events.Items[0].Type != v1.EventTypeWarning {
		t.Errorf("events %+v, want one Warning %s", events.Items, ReasonNotReclaimable)
	}
	if _, err := client.CoreV1().Pods("research").Get(ctx, "typo", metav1.GetOptions{}); err != nil {
		t.Errorf("workspace with a bad annotation was deleted: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	client := fake.NewClientset()
	for _, o := range []Options{
		{Client: client},
		{NodeName: "n"},
		{NodeName: "n", Client: client, Interval: -time.Second},
		{NodeName: "n", Client: client, BusyPercent: 101},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}

func counterValue(t *testing.T, c basemetrics.CounterMetric) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
