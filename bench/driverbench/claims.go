package driverbench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"k8s.io/dynamic-resource-allocation/cel"
	"k8s.io/dynamic-resource-allocation/structured"
	drapb "k8s.io/kubelet/pkg/apis/dra/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// claimKind is one kind of claim whose prepare and unprepare are timed.
type claimKind struct {
	Name string
	// Target is the target (machine and GPU mode) whose node serves it.
	Target  string
	Driver  string
	Request resourceapi.ExactDeviceRequest
}

// claimCPUs is how many exclusive CPUs a CPU-set claim asks for.
const claimCPUs = 4

// claimKinds are the measured kinds of claims. A kind whose target is not
// measured is skipped.
func claimKinds() []claimKind {
	exact := func(class string) resourceapi.ExactDeviceRequest {
		// Allocation mode and count as the API server defaults them.
		return resourceapi.ExactDeviceRequest{DeviceClassName: class, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1}
	}
	mig := exact("mig.gpu.hadron.dev")
	// The smallest partition: a "slice of a GPU".
	mig.Selectors = []resourceapi.DeviceSelector{{CEL: &resourceapi.CELDeviceSelector{
		Expression: fmt.Sprintf("device.attributes[%q].migComputeSlices == 1", attrs.GPUDriver),
	}}}
	cpus := exact(attrs.CPUDriver)
	cpus.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
		attrs.CPUs: *resource.NewQuantity(claimCPUs, resource.DecimalSI),
	}}
	return []claimKind{
		{Name: "whole GPU", Target: "dgxh100", Driver: attrs.GPUDriver, Request: exact(attrs.GPUDriver)},
		{Name: "MIG partition", Target: "dgxa100:mig", Driver: attrs.GPUDriver, Request: mig},
		{Name: "shared GPU", Target: "dgxh100:shared", Driver: attrs.GPUDriver, Request: exact("shared.gpu.hadron.dev")},
		{Name: fmt.Sprintf("CPU set (%d CPUs)", claimCPUs), Target: "dgxh100", Driver: attrs.CPUDriver, Request: cpus},
		{Name: "RDMA NIC", Target: "dgxh100", Driver: attrs.NICDriver, Request: exact(attrs.NICDriver)},
	}
}

// Prepare is the prepare and unprepare latency of one kind of claim.
type Prepare struct {
	Kind, Target string
	// Device is what the allocator chose, the same for every claim: each
	// claim is unprepared before the next is prepared.
	Device             string
	Prepare, Unprepare []time.Duration
}

// claimName is a kind's claim name: "whole GPU" → "whole-gpu-7".
func claimName(kind string, i int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(kind) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-") + fmt.Sprintf("-%d", i)
}

// allocate runs the scheduler's structured allocator for one claim of
// kind on node, over what the node's drivers published.
func allocate(ctx context.Context, client kubernetes.Interface, nodeName string, claim *resourceapi.ResourceClaim) (*resourceapi.AllocationResult, error) {
	node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get node %s: %w", nodeName, err)
	}
	list, err := client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + nodeName})
	if err != nil {
		return nil, fmt.Errorf("list slices of %s: %w", nodeName, err)
	}
	slices := make([]*resourceapi.ResourceSlice, len(list.Items))
	for i := range list.Items {
		slices[i] = &list.Items[i]
	}
	classList, err := client.ResourceV1().DeviceClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list device classes: %w", err)
	}
	classes := deviceClasses{}
	for i := range classList.Items {
		classes[classList.Items[i].Name] = &classList.Items[i]
	}
	features := structured.Features{PartitionableDevices: true, ConsumableCapacity: true, DeviceTaints: true, PrioritizedList: true, AdminAccess: true}
	state := structured.AllocatedState{
		AllocatedDevices:         sets.New[structured.DeviceID](),
		AllocatedSharedDeviceIDs: sets.New[structured.SharedDeviceID](),
		AggregatedCapacity:       structured.NewConsumedCapacityCollection(),
	}
	a, err := structured.NewAllocator(ctx, features, state, classes, slices, cel.NewCache(10, cel.Features{EnableConsumableCapacity: true}))
	if err != nil {
		return nil, fmt.Errorf("create allocator: %w", err)
	}
	results, err := a.Allocate(ctx, node, []*resourceapi.ResourceClaim{claim})
	if err != nil {
		return nil, fmt.Errorf("allocate %s on %s: %w", claim.Name, nodeName, err)
	}
	if len(results) != 1 {
		return nil, fmt.Errorf("claim %s does not fit on %s (%d slices published)", claim.Name, nodeName, len(slices))
	}
	return &results[0], nil
}

// deviceClasses is the allocator's view of the DeviceClasses.
type deviceClasses map[string]*resourceapi.DeviceClass

func (c deviceClasses) List() ([]*resourceapi.DeviceClass, error) {
	out := make([]*resourceapi.DeviceClass, 0, len(c))
	for _, dc := range c {
		out = append(out, dc)
	}
	return out, nil
}

func (c deviceClasses) Get(name string) (*resourceapi.DeviceClass, error) {
	if dc, ok := c[name]; ok {
		return dc, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("deviceclasses"), name)
}

// claimLoad prepares and unprepares claims of one kind on a node.
type claimLoad struct {
	client    kubernetes.Interface
	node      *nodesim.Node
	namespace string
	progress  io.Writer
}

// run creates n claims of kind one after the other, each allocated as the
// scheduler would (the allocation written to its status), and times the
// kubelet's NodePrepareResources and NodeUnprepareResources calls for it.
//
// The claims are reserved for no pod: the claim controller would clear
// the reservation of a pod that does not exist, and the driver does not
// need one to prepare.
func (l claimLoad) run(ctx context.Context, kind claimKind, n int) (*Prepare, error) {
	claims := l.client.ResourceV1().ResourceClaims(l.namespace)
	template := &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claimName(kind.Name, 0), Namespace: l.namespace},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{{
			Name: "device", Exactly: kind.Request.DeepCopy(),
		}}}},
	}
	allocation, err := allocate(ctx, l.client, l.node.Name, template)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind.Name, err)
	}
	res := &Prepare{Kind: kind.Name, Target: kind.Target, Device: allocation.Devices.Results[0].Device}
	plugin, err := l.node.DRAPlugin(kind.Driver)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind.Name, err)
	}
	for i := 1; i <= n; i++ {
		want := template.DeepCopy()
		want.Name = claimName(kind.Name, i)
		created, err := claims.Create(ctx, want, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create claim %s: %w", want.Name, err)
		}
		created.Status.Allocation = allocation.DeepCopy()
		claim, err := claims.UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("allocate claim %s: %w", want.Name, err)
		}
		ref := []*drapb.Claim{{Namespace: claim.Namespace, Name: claim.Name, Uid: string(claim.UID)}}
		start := time.Now()
		prepared, err := plugin.NodePrepareResources(ctx, &drapb.NodePrepareResourcesRequest{Claims: ref})
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("prepare claim %s: %w", claim.Name, err)
		}
		if got := prepared.Claims[string(claim.UID)]; got == nil || got.Error != "" || len(got.Devices) != 1 {
			return nil, fmt.Errorf("prepare claim %s: driver answered %v, want one device", claim.Name, got)
		}
		res.Prepare = append(res.Prepare, took)
		start = time.Now()
		unprepared, err := plugin.NodeUnprepareResources(ctx, &drapb.NodeUnprepareResourcesRequest{Claims: ref})
		took = time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("unprepare claim %s: %w", claim.Name, err)
		}
		if got := unprepared.Claims[string(claim.UID)]; got == nil || got.Error != "" {
			return nil, fmt.Errorf("unprepare claim %s: driver answered %v", claim.Name, got)
		}
		res.Unprepare = append(res.Unprepare, took)
		if err := claims.Delete(ctx, claim.Name, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("delete claim %s: %w", claim.Name, err)
		}
		if i%50 == 0 || i == n {
			fmt.Fprintf(l.progress, "%s on %s: %d/%d claims prepared and unprepared\n", kind.Name, l.node.Name, i, n)
		}
	}
	return res, nil
}
