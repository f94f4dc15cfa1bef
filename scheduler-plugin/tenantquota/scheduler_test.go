package tenantquota_test

import (
	"context"
	"fmt"
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
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	"k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/attrs"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/tenantquota"
)

// TestShippedConfig runs the scheduler with deploy/scheduler/config.yaml
// and all of hadron's plugins on fake API objects: eight one-GPU pods of
// one tenant in two namespaces, half of them in each profile, against a
// quota of three GPUs on a node with eight. Exactly three are bound, so
// TenantQuota reserves after the DRA plugins of both profiles and the
// profiles share one ledger; the others are told why.
func TestShippedConfig(t *testing.T) {
	logger, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	objects := []runtime.Object{node("node-1"), gpuSlice("node-1", 8)}
	objects = append(objects, shippedClasses(t)...)
	for _, ns := range []string{"a", "b"} {
		objects = append(objects, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{tenantquota.DefaultTenantLabel: "physics"}}})
	}
	for i := range 8 {
		ns, name := []string{"a", "b"}[i%2], fmt.Sprintf("pod-%d", i)
		profile := "hadron-scheduler"
		if i%4 < 2 {
			profile = v1.DefaultSchedulerName
		}
		objects = append(objects, gpuClaim(ns, name), podWithClaim(ns, name, profile))
	}
	client := fake.NewClientset(objects...)
	bound := recordBindings(client)

	informerFactory := scheduler.NewInformerFactory(client, 0, nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	sched, err := scheduler.New(ctx, client, informerFactory, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithProfiles(loadShippedConfig(t).Profiles...),
		scheduler.WithFrameworkOutOfTreeRegistry(schedulerplugin.Registry()),
	)
	if err != nil {
		t.Fatalf("scheduler with the shipped configuration: %v", err)
	}
	if !tenantquota.InjectTenant(logger, informerFactory, "physics", map[string]string{"quota.hadron.dev/gpus": "3"}) {
		t.Fatal("no TenantQuota state for the scheduler")
	}
	informerFactory.Start(ctx.Done())
	informerFactory.WaitForCacheSync(ctx.Done())
	go sched.Run(ctx)

	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return count(bound) >= 3 && countUnschedulable(ctx, t, client) == 5, nil
	})
	if err != nil {
		t.Fatalf("%d pods bound, %d reported unschedulable; want 3 and 5", count(bound), countUnschedulable(ctx, t, client))
	}
	time.Sleep(time.Second)
	if n := count(bound); n != 3 {
		t.Errorf("%d pods bound, want 3", n)
	}
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

// countUnschedulable counts the pods told that the quota is exceeded.
func countUnschedulable(ctx context.Context, t *testing.T, client *fake.Clientset) int {
	t.Helper()
	n := 0
	for _, ns := range []string{"a", "b"} {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse &&
					strings.Contains(c.Message, `tenant "physics": quota.hadron.dev/gpus exceeded: used 3, requested 1, limit 3`) {
					n++
				}
			}
		}
	}
	return n
}

func loadShippedConfig(t *testing.T) *config.KubeSchedulerConfiguration {
	t.Helper()
	obj, _, err := scheme.Codecs.UniversalDecoder().Decode(deploy.SchedulerConfig, nil, nil)
	if err != nil {
		t.Fatalf("decode deploy/scheduler/config.yaml: %v", err)
	}
	cfg, ok := obj.(*config.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("deploy/scheduler/config.yaml holds a %T", obj)
	}
	if err := validation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		t.Fatalf("deploy/scheduler/config.yaml: %v", err)
	}
	return cfg
}

func shippedClasses(t *testing.T) []runtime.Object {
	t.Helper()
	files, err := fs.Glob(deploy.DeviceClasses, "deviceclasses/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, file := range files {
		data, err := fs.ReadFile(deploy.DeviceClasses, file)
		if err != nil {
			t.Fatal(err)
		}
		class := &resourceapi.DeviceClass{}
		if err := yaml.UnmarshalStrict(data, class); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, class)
	}
	return out
}

// recordBindings makes bindings succeed and records the pods bound.
func recordBindings(client *fake.Clientset) *sync.Map {
	bound := &sync.Map{}
	client.PrependReactor("create", "pods", func(action clienttesting.Action) (bool, runtime.Object, error) {
		create, ok := action.(clienttesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		binding, ok := create.GetObject().(*v1.Binding)
		if !ok {
			return false, nil, nil
		}
		bound.Store(action.GetNamespace()+"/"+binding.Name, binding.Target.Name)
		return true, binding, nil
	})
	return bound
}

func node(name string) *v1.Node {
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

func gpuSlice(node string, n int) *resourceapi.ResourceSlice {
	s := &resourceapi.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: node + "-gpu"},
		Spec: resourceapi.ResourceSliceSpec{
			Driver: attrs.GPUDriver, NodeName: ptr.To(node),
			Pool: resourceapi.ResourcePool{Name: node, ResourceSliceCount: 1},
		},
	}
	for i := range n {
		s.Spec.Devices = append(s.Spec.Devices, resourceapi.Device{
			Name: fmt.Sprintf("gpu-%d", i),
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				attrs.GPUType:  {StringValue: ptr.To(attrs.GPUTypeWhole)},
				attrs.NUMANode: {IntValue: ptr.To(int64(i / 4))},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.GPUMemory: {Value: resource.MustParse("80Gi")}},
		})
	}
	return s
}

func gpuClaim(ns, name string) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("claim-" + ns + "-" + name), ResourceVersion: "1"},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{{
			Name: "gpu", Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: "gpu.hadron.dev", AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1},
		}}}},
	}
}

func podWithClaim(ns, name, schedulerName string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("pod-" + ns + "-" + name)},
		Spec: v1.PodSpec{
			SchedulerName:  schedulerName,
			ResourceClaims: []v1.PodResourceClaim{{Name: "gpu", ResourceClaimName: ptr.To(name)}},
			Containers: []v1.Container{{
				Name: "main", Image: "registry.example.org/training",
				Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "gpu"}}},
			}},
		},
	}
}
