package alignment_test

import (
	"context"
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

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/attrs"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/alignment"
)

// TestShippedConfig runs the scheduler with deploy/scheduler/config.yaml
// and hadron's plugins against fake API objects: two nodes with four GPUs
// per NUMA node. A pod that asks for five GPUs and a NIC on one NUMA node
// is told why in the hadron-scheduler profile, the default profile still
// says what upstream says, and a pod that fits is bound.
func TestShippedConfig(t *testing.T) {
	cfg := loadShippedConfig(t)
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	objects := []runtime.Object{}
	for _, class := range alignment.ShippedClasses(t) {
		objects = append(objects, class)
	}
	for _, node := range []string{"node-1", "node-2"} {
		objects = append(objects, schedulableNode(node))
		for _, s := range alignment.NodeSlices(node) {
			objects = append(objects, s)
		}
	}
	pods := map[string]string{ // pod (and its claim) → scheduler
		"too-many-gpus":         "hadron-scheduler",
		"too-many-gpus-default": "default-scheduler",
		"fits":                  "hadron-scheduler",
	}
	for name, schedulerName := range pods {
		n := int64(4)
		if strings.HasPrefix(name, "too-many") {
			n = 5
		}
		c := alignment.Claim(name, alignment.Reqs(alignment.Request("gpus", alignment.GPUClass, n), alignment.Request("nic", alignment.NICClass, 1)), alignment.Match(attrs.NUMANode))
		objects = append(objects, c, podWithClaim(name, schedulerName))
	}
	client := fake.NewClientset(objects...)
	bound := recordBindings(client)

	informerFactory := scheduler.NewInformerFactory(client, 0, nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	sched, err := scheduler.New(ctx, client, informerFactory, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithProfiles(cfg.Profiles...),
		scheduler.WithFrameworkOutOfTreeRegistry(schedulerplugin.Registry()),
	)
	if err != nil {
		t.Fatalf("scheduler with the shipped configuration: %v", err)
	}
	informerFactory.Start(ctx.Done())
	informerFactory.WaitForCacheSync(ctx.Done())
	go sched.Run(ctx)

	wantReason := map[string]string{
		"too-many-gpus":         `0/2 nodes are available: 2 claim default/too-many-gpus: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0).`,
		"too-many-gpus-default": "0/2 nodes are available: 2 cannot allocate all claims.",
	}
	for name, want := range wantReason {
		got := waitForUnschedulable(ctx, t, client, name)
		if !strings.HasPrefix(got, want) {
			t.Errorf("pod %s: got reason\n\t%s\nwant it to start with\n\t%s", name, got, want)
		}
	}
	// A driver republishes the node that "fits" left free with a fifth
	// GPU on NUMA node 0: the rejected pod is retried and fits there.
	free := "node-1"
	if waitForBinding(ctx, t, bound, "fits") == free {
		free = "node-2"
	}
	gpuSlice := alignment.NodeSlices(free)[0]
	gpuSlice.Spec.Devices[4].Attributes[attrs.NUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To[int64](0)}
	gpuSlice.ResourceVersion = "2"
	if _, err := client.ResourceV1().ResourceSlices().Update(ctx, gpuSlice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := waitForBinding(ctx, t, bound, "too-many-gpus"); node != free {
		t.Errorf("pod too-many-gpus bound to %s, want %s", node, free)
	}
}

// waitForBinding returns the node the pod was bound to.
func waitForBinding(ctx context.Context, t *testing.T, bound *sync.Map, pod string) string {
	t.Helper()
	var node any
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		var ok bool
		node, ok = bound.Load(pod)
		return ok, nil
	}); err != nil {
		t.Fatalf("pod %s was not bound: %v", pod, err)
	}
	return node.(string)
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
		bound.Store(binding.Name, binding.Target.Name)
		return true, binding, nil
	})
	return bound
}

func waitForUnschedulable(ctx context.Context, t *testing.T, client *fake.Clientset, name string) string {
	t.Helper()
	var message string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pod, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
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
		t.Fatalf("pod %s not reported unschedulable: %v", name, err)
	}
	return message
}

func schedulableNode(name string) *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{
				v1.ResourcePods:   resource.MustParse("110"),
				v1.ResourceCPU:    resource.MustParse("96"),
				v1.ResourceMemory: resource.MustParse("512Gi"),
			},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
}

// podWithClaim returns pod default/<name> that uses claim default/<name>.
func podWithClaim(name, schedulerName string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("pod-" + name)},
		Spec: v1.PodSpec{
			SchedulerName:  schedulerName,
			ResourceClaims: []v1.PodResourceClaim{{Name: "devices", ResourceClaimName: ptr.To(name)}},
			Containers: []v1.Container{{
				Name:      "main",
				Image:     "registry.example.org/training",
				Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "devices"}}},
			}},
		},
	}
}
