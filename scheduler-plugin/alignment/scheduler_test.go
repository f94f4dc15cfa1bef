package alignment_test

import (
	"context"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	schedulerplugin "github.com/hadron-sched/hadron/scheduler-plugin"
	"github.com/hadron-sched/hadron/scheduler-plugin/alignment"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

// TestShippedConfig runs the scheduler with deploy/scheduler/config.yaml
// and hadron's plugins against fake API objects: two nodes with four GPUs
// per NUMA node. A pod that asks for five GPUs and a NIC on one NUMA node
// is told why in the hadron-scheduler profile, the default profile still
// says what upstream says, and a pod that fits is bound.
func TestShippedConfig(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	objects := []runtime.Object{}
	for _, class := range schedtest.ShippedClasses(t) {
		objects = append(objects, class)
	}
	for _, node := range []string{"node-1", "node-2"} {
		objects = append(objects, schedtest.Node(node))
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
		objects = append(objects, c, schedtest.PodWithClaim("default", name, schedulerName))
	}
	client := fake.NewClientset(objects...)
	bound := schedtest.RecordBindings(client)
	sched := schedtest.Start(ctx, t, client, schedulerplugin.Registry(), schedtest.ShippedConfig(t))
	go sched.Run(ctx)

	wantReason := map[string]string{
		"too-many-gpus":         `0/2 nodes are available: 2 claim default/too-many-gpus: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0).`,
		"too-many-gpus-default": "0/2 nodes are available: 2 cannot allocate all claims.",
	}
	for name, want := range wantReason {
		got := schedtest.WaitForUnschedulable(ctx, t, client, "default", name)
		if !strings.HasPrefix(got, want) {
			t.Errorf("pod %s: got reason\n\t%s\nwant it to start with\n\t%s", name, got, want)
		}
	}
	// A driver republishes the node that "fits" left free with a fifth
	// GPU on NUMA node 0: the rejected pod is retried and fits there.
	free := "node-1"
	if bound.Wait(ctx, t, "default", "fits") == free {
		free = "node-2"
	}
	gpuSlice := alignment.NodeSlices(free)[0]
	gpuSlice.Spec.Devices[4].Attributes[attrs.NUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To[int64](0)}
	gpuSlice.ResourceVersion = "2"
	if _, err := client.ResourceV1().ResourceSlices().Update(ctx, gpuSlice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if node := bound.Wait(ctx, t, "default", "too-many-gpus"); node != free {
		t.Errorf("pod too-many-gpus bound to %s, want %s", node, free)
	}
}
