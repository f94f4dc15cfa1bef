package tenantquota_test

import (
	"context"
	"fmt"
	"strings"
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
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
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

	objects := []runtime.Object{schedtest.Node("node-1"), gpuSlice("node-1", 8)}
	for _, class := range schedtest.ShippedClasses(t) {
		objects = append(objects, class)
	}
	for _, ns := range []string{"a", "b"} {
		objects = append(objects, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{tenantquota.DefaultTenantLabel: "physics"}}})
	}
	for i := range 8 {
		ns, name := []string{"a", "b"}[i%2], fmt.Sprintf("pod-%d", i)
		profile := "hadron-scheduler"
		if i%4 < 2 {
			profile = v1.DefaultSchedulerName
		}
		objects = append(objects, gpuClaim(ns, name), schedtest.PodWithClaim(ns, name, profile))
	}
	client := fake.NewClientset(objects...)
	bound := schedtest.RecordBindings(client)
	sched := schedtest.Start(ctx, t, client, schedulerplugin.Registry(), schedtest.ShippedConfig(t))
	if !tenantquota.InjectTenant(logger, sched.Informers, "physics", map[string]string{"quota.hadron.dev/gpus": "3"}) {
		t.Fatal("no TenantQuota state for the scheduler")
	}
	go sched.Run(ctx)

	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return bound.Count() >= 3 && countUnschedulable(ctx, t, client) == 5, nil
	})
	if err != nil {
		t.Fatalf("%d pods bound, %d reported unschedulable; want 3 and 5", bound.Count(), countUnschedulable(ctx, t, client))
	}
	time.Sleep(time.Second)
	if n := bound.Count(); n != 3 {
		t.Errorf("%d pods bound, want 3", n)
	}
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
