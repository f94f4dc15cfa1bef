// Package schedtest runs a whole kube-scheduler, built from hadron's
// shipped KubeSchedulerConfiguration, on a fake API server, for the
// scheduler plugins' end-to-end tests and for the tests of every
// configuration hadron generates (benchmarks, the Helm chart). Only tests
// import it.
//
// It takes the plugin registry as an argument rather than importing
// hadron's: the plugins' own in-package tests use its fixtures, and the
// registry imports the plugins.
package schedtest

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
)

// pollInterval and waitTimeout pace the waits for the scheduler's
// verdicts.
const (
	pollInterval = 50 * time.Millisecond
	waitTimeout  = time.Minute
)

// DecodeConfig decodes a KubeSchedulerConfiguration the way kube-scheduler
// does: versioned decoding with defaults.
func DecodeConfig(t testing.TB, raw []byte) *config.KubeSchedulerConfiguration {
	t.Helper()
	obj, _, err := scheme.Codecs.UniversalDecoder().Decode(raw, nil, nil)
	if err != nil {
		t.Fatalf("decode KubeSchedulerConfiguration: %v", err)
	}
	cfg, ok := obj.(*config.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("decoded a %T, want a KubeSchedulerConfiguration", obj)
	}
	return cfg
}

// ValidConfig decodes a KubeSchedulerConfiguration as DecodeConfig does
// and validates it as kube-scheduler does; name says which one in
// failures.
func ValidConfig(t testing.TB, name string, raw []byte) *config.KubeSchedulerConfiguration {
	t.Helper()
	cfg := DecodeConfig(t, raw)
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// ShippedConfig decodes deploy/scheduler/config.yaml and validates it.
func ShippedConfig(t testing.TB) *config.KubeSchedulerConfiguration {
	t.Helper()
	return ValidConfig(t, "deploy/scheduler/config.yaml", deploy.SchedulerConfig)
}

// ShippedClasses returns the DeviceClasses in deploy/deviceclasses by
// name.
func ShippedClasses(t testing.TB) map[string]*resourceapi.DeviceClass {
	t.Helper()
	files, err := fs.Glob(deploy.DeviceClasses, "deviceclasses/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	classes := make(map[string]*resourceapi.DeviceClass, len(files))
	for _, file := range files {
		data, err := fs.ReadFile(deploy.DeviceClasses, file)
		if err != nil {
			t.Fatal(err)
		}
		class := &resourceapi.DeviceClass{}
		if err := yaml.UnmarshalStrict(data, class); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		classes[class.Name] = class
	}
	if len(classes) == 0 {
		t.Fatal("no DeviceClass shipped")
	}
	return classes
}

// NewScheduler builds a scheduler of cfg's profiles with registry as its
// out-of-tree plugins on client. Its informers are not started.
func NewScheduler(ctx context.Context, client *fake.Clientset, registry frameworkruntime.Registry, cfg *config.KubeSchedulerConfiguration) (*scheduler.Scheduler, informers.SharedInformerFactory, error) {
	informerFactory := scheduler.NewInformerFactory(client, 0, nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	sched, err := scheduler.New(ctx, client, informerFactory, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithProfiles(cfg.Profiles...),
		scheduler.WithFrameworkOutOfTreeRegistry(registry),
	)
	return sched, informerFactory, err
}

// Scheduler is a scheduler whose informers have their initial lists; the
// test runs it.
type Scheduler struct {
	*scheduler.Scheduler
	Informers informers.SharedInformerFactory
}

// Start builds the scheduler as NewScheduler does, failing the test if it
// is refused, and starts its informers until ctx is done.
func Start(ctx context.Context, t testing.TB, client *fake.Clientset, registry frameworkruntime.Registry, cfg *config.KubeSchedulerConfiguration) *Scheduler {
	t.Helper()
	sched, informerFactory, err := NewScheduler(ctx, client, registry, cfg)
	if err != nil {
		t.Fatalf("build the scheduler: %v", err)
	}
	informerFactory.Start(ctx.Done())
	informerFactory.WaitForCacheSync(ctx.Done())
	return &Scheduler{Scheduler: sched, Informers: informerFactory}
}

// Bindings records the pods a scheduler bound through a fake clientset,
// which does not serve the binding subresource itself.
type Bindings struct {
	nodes sync.Map // namespace/name → node
}

// RecordBindings makes bindings on client succeed and records them.
func RecordBindings(client *fake.Clientset) *Bindings {
	b := &Bindings{}
	client.PrependReactor("create", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		create, ok := action.(clienttesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		binding, ok := create.GetObject().(*v1.Binding)
		if !ok {
			return false, nil, nil
		}
		b.nodes.Store(action.GetNamespace()+"/"+binding.Name, binding.Target.Name)
		return true, binding, nil
	})
	return b
}

// Count is the number of pods bound so far.
func (b *Bindings) Count() int {
	n := 0
	b.nodes.Range(func(any, any) bool { n++; return true })
	return n
}

// Wait returns the node pod namespace/name is bound to, failing the test
// if it is not bound within a minute.
func (b *Bindings) Wait(ctx context.Context, t testing.TB, namespace, name string) string {
	t.Helper()
	var node any
	if err := wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, func(context.Context) (bool, error) {
		var ok bool
		node, ok = b.nodes.Load(namespace + "/" + name)
		return ok, nil
	}); err != nil {
		t.Fatalf("pod %s/%s was not bound: %v", namespace, name, err)
	}
	return node.(string)
}

// WaitForUnschedulable returns the message with which the scheduler
// reported pod namespace/name unschedulable, failing the test if it does
// not within a minute.
func WaitForUnschedulable(ctx context.Context, t testing.TB, client *fake.Clientset, namespace, name string) string {
	t.Helper()
	var message string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, func(ctx context.Context) (bool, error) {
		pod, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range pod.Status.Conditions {
			// Until the scheduler's cache has the nodes, a pod is
			// unschedulable for want of nodes; it is retried when they
			// arrive, and only that verdict is the one under test.
			if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable &&
				!strings.HasPrefix(c.Message, "no nodes available") {
				message = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s not reported unschedulable: %v", namespace, name, err)
	}
	return message
}

// Node is a ready node with room for the test pods, which request nothing
// but devices.
func Node(name string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{
				v1.ResourcePods: resource.MustParse("110"), v1.ResourceCPU: resource.MustParse("96"), v1.ResourceMemory: resource.MustParse("512Gi"),
			},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
}

// PodWithClaim returns pod namespace/name for the profile schedulerName,
// using claim namespace/name.
func PodWithClaim(namespace, name, schedulerName string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID("pod-" + namespace + "-" + name)},
		Spec: v1.PodSpec{
			SchedulerName:  schedulerName,
			ResourceClaims: []v1.PodResourceClaim{{Name: "devices", ResourceClaimName: ptr.To(name)}},
			Containers: []v1.Container{{
				Name: "main", Image: "registry.example.org/training",
				Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "devices"}}},
			}},
		},
	}
}
