package reclaim_test

import (
	"context"
	"os"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/driver/reclaim"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/localenv"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

const (
	node = "workstation-1"
	ns   = "research"
)

// TestReclaimOnLocalCluster runs the reclaimer of a simulated node against
// the real control plane: an idle GPU workspace is deleted and its claim
// released, its Service marked and an Event recorded, while a workspace
// whose GPU is busy and one with a fresh heartbeat stay.
func TestReclaimOnLocalCluster(t *testing.T) {
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v == "1" || v == "true" {
		t.Skip("HADRON_SKIP_INTEGRATION set")
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nodes, err := localenv.ParseNodes("workstation=1")
	if err != nil {
		t.Fatal(err)
	}
	env, err := localenv.Start(ctx, localenv.Options{Nodes: nodes})
	if err != nil {
		t.Fatalf("start local environment (build the binaries first): %v", err)
	}
	defer func() {
		cancel()
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	}()
	sim := env.Sim.Node(node)
	hw := sim.Hardware()
	// Every GPU of the node is busy: the gpu-utilization workspace must be
	// kept for that, the heartbeat one reclaimed regardless.
	for i := range hw.Machine.GPUs {
		if err := hw.Sim.SetUtilization(i, 90); err != nil {
			t.Fatal(err)
		}
	}
	r, err := nodeplugin.NewReclaimer(sim.Plugin(), hw, reclaim.Options{NodeName: node, Client: env.Client, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("reclaimer: %v", err)
		}
	}()

	c := env.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tmpl := &resourceapi.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "one-gpu", Namespace: ns},
		Spec: resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{Name: "gpu", Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: attrs.GPUDriver}}},
		}}},
	}
	if _, err := c.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	idle := createWorkspace(ctx, t, c, "idle", true, map[string]string{workspace.AnnotationIdleTimeout: "3s"})
	busy := createWorkspace(ctx, t, c, "busy", true, map[string]string{
		workspace.AnnotationIdleTimeout: "3s", workspace.AnnotationActivitySignal: workspace.SignalGPUUtilization,
	})
	fresh := createWorkspace(ctx, t, c, "fresh", false, map[string]string{
		workspace.AnnotationIdleTimeout: "1h", workspace.AnnotationLastActivity: time.Now().UTC().Format(time.RFC3339),
	})

	running := waitPod(ctx, t, c, idle.Name, func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	claimName := ""
	for _, name := range kube.PodClaimNames(running) {
		claimName = name
	}
	if claimName == "" {
		t.Fatalf("running workspace pod has no claim: %+v", running.Status)
	}
	if len(sim.Plugin().GPUDriver().PreparedDevices(ns, claimName)) != 1 {
		t.Fatalf("claim %s is not prepared on %s", claimName, node)
	}

	waitFor(ctx, t, "idle workspace pod deleted", func() bool {
		_, err := c.CoreV1().Pods(ns).Get(ctx, idle.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	waitFor(ctx, t, "idle workspace's claim released", func() bool {
		_, err := c.ResourceV1().ResourceClaims(ns).Get(ctx, claimName, metav1.GetOptions{})
		return apierrors.IsNotFound(err) && len(sim.Plugin().GPUDriver().PreparedDevices(ns, claimName)) == 0
	})
	svc, err := c.CoreV1().Services(ns).Get(ctx, idle.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Annotations[workspace.AnnotationReclaimed] == "" {
		t.Errorf("Service %s lacks the %s annotation", svc.Name, workspace.AnnotationReclaimed)
	}
	events, err := c.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events.Items {
		if e.Reason == reclaim.ReasonReclaimed && e.Regarding.Name == idle.Name && e.Regarding.UID == idle.UID {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s Event about %s among %d events", reclaim.ReasonReclaimed, idle.Name, len(events.Items))
	}

	// The busy workspace has been Running for longer than its timeout by
	// now only if the reclaimer judged it busy; it also shows the activity.
	kept := waitPod(ctx, t, c, busy.Name, func(p *v1.Pod) bool {
		return p.Annotations[workspace.AnnotationLastActivity] != ""
	})
	if kept.DeletionTimestamp != nil {
		t.Errorf("busy workspace is being deleted")
	}
	if p, err := c.CoreV1().Pods(ns).Get(ctx, fresh.Name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("workspace with a fresh heartbeat: %v, deleting %v", err, p.DeletionTimestamp)
	}
}

// createWorkspace creates a workspace pod (with a GPU claim from the
// one-gpu template when gpu is set) and its Service.
func createWorkspace(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, gpu bool, annotations map[string]string) *v1.Pod {
	t.Helper()
	labels := map[string]string{workspace.LabelWorkspace: name}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: annotations},
		Spec: v1.PodSpec{
			SchedulerName: demo.SchedulerName,
			NodeSelector:  map[string]string{v1.LabelHostname: node},
			Containers:    []v1.Container{{Name: "notebook", Image: "registry.example.org/research/workspace:latest"}},
		},
	}
	if gpu {
		template := "one-gpu"
		pod.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: &template}}
		pod.Spec.Containers[0].Resources.Claims = []v1.ResourceClaim{{Name: "gpu"}}
	}
	created, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:       v1.ServiceSpec{Selector: labels, Ports: []v1.ServicePort{{Name: "http", Port: 8888}}},
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return created
}

func waitPod(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, cond func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var pod *v1.Pod
	waitFor(ctx, t, "pod "+name, func() bool {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		pod = p
		return cond(p)
	})
	return pod
}

// waitFor polls cond; the limit only bounds a broken run.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("%s: not reached: %v", what, err)
	}
}
