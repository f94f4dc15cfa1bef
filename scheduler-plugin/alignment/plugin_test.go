package alignment

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/schedtest"
)

// fakeDRA serves claims, slices and classes from memory.
type fakeDRA struct {
	claims  map[string]*resourceapi.ResourceClaim // by namespace/name
	pending map[types.UID]bool
	slices  []*resourceapi.ResourceSlice
	classes map[string]*resourceapi.DeviceClass
}

func (f *fakeDRA) ResourceClaims() fwk.ResourceClaimTracker     { return fakeClaims{f: f} }
func (f *fakeDRA) ResourceSlices() fwk.ResourceSliceLister      { return f }
func (f *fakeDRA) DeviceClasses() fwk.DeviceClassLister         { return fakeClasses(f.classes) }
func (f *fakeDRA) DeviceClassResolver() fwk.DeviceClassResolver { return nil }
func (f *fakeDRA) ListWithDeviceTaintRules() ([]*resourceapi.ResourceSlice, error) {
	return f.slices, nil
}

// fakeClaims implements the two methods the plugin calls; the embedded
// nil interface makes any other call fail loudly.
type fakeClaims struct {
	fwk.ResourceClaimTracker
	f *fakeDRA
}

func (c fakeClaims) Get(namespace, name string) (*resourceapi.ResourceClaim, error) {
	if claim, ok := c.f.claims[namespace+"/"+name]; ok {
		return claim, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("resourceclaims"), name)
}

func (c fakeClaims) GetPendingAllocation(uid types.UID) *resourceapi.AllocationResult {
	if c.f.pending[uid] {
		return &resourceapi.AllocationResult{}
	}
	return nil
}

type fakeClasses map[string]*resourceapi.DeviceClass

func (c fakeClasses) Get(name string) (*resourceapi.DeviceClass, error) { return classLookup(c)(name) }

func (c fakeClasses) List() ([]*resourceapi.DeviceClass, error) {
	var out []*resourceapi.DeviceClass
	for _, class := range c {
		out = append(out, class)
	}
	return out, nil
}

var allFeatures = feature.Features{
	EnableDynamicResourceAllocation: true,
	EnableDRAConsumableCapacity:     true,
}

// trainPod returns a pod whose claim "devices" was generated from a
// template as default/<claimName>, and the claim, owned by the pod.
func trainPod(claimName string, requests []resourceapi.DeviceRequest, constraints ...resourceapi.DeviceConstraint) (*v1.Pod, *resourceapi.ResourceClaim) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "train", UID: "pod-uid"},
		Spec: v1.PodSpec{ResourceClaims: []v1.PodResourceClaim{
			{Name: "devices", ResourceClaimTemplateName: ptr.To("template")},
		}},
		Status: v1.PodStatus{ResourceClaimStatuses: []v1.PodResourceClaimStatus{
			{Name: "devices", ResourceClaimName: ptr.To(claimName)},
		}},
	}
	c := claim(claimName, requests, constraints...)
	c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID, Controller: ptr.To(true)}}
	return pod, c
}

func nodeInfo(name string) fwk.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	return ni
}

func TestPreFilterAndFilter(t *testing.T) {
	pod, c := trainPod("train-0", reqs(request("gpus", gpuClass, 5), request("nic", nicClass, 1)), match(attrs.NUMANode, "gpus", "nic"))
	// node-2 has eight GPUs and a NIC on one NUMA node.
	dra := &fakeDRA{
		claims:  map[string]*resourceapi.ResourceClaim{"default/train-0": c},
		slices:  append(testSlices(), slice("node-2", attrs.GPUDriver, numa0GPUs()...), slice("node-2", attrs.NICDriver, nic(0, attrs.NICLinkLayerEthernet))),
		classes: schedtest.ShippedClasses(t),
	}
	pl := newPlugin(dra, allFeatures)
	_, ctx := ktesting.NewTestContext(t)
	state := framework.NewCycleState()
	if _, status := pl.PreFilter(ctx, state, pod, nil); !status.IsSuccess() {
		t.Fatalf("PreFilter: %v", status)
	}

	status := pl.Filter(ctx, state, pod, nodeInfo(testNode))
	want := `claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)`
	if status.Code() != fwk.UnschedulableAndUnresolvable || status.Message() != want {
		t.Errorf("Filter(%s) = %v %q, want UnschedulableAndUnresolvable %q", testNode, status.Code(), status.Message(), want)
	}
	if status := pl.Filter(ctx, state, pod, nodeInfo("node-2")); !status.IsSuccess() {
		t.Errorf("Filter(node-2) = %v, want success", status)
	}
	// A cloned state (preemption) gives the same verdict.
	if status := pl.Filter(ctx, state.Clone(), pod, nodeInfo(testNode)); status.Message() != want {
		t.Errorf("Filter on cloned state = %v", status)
	}
}

func TestPreFilterSkips(t *testing.T) {
	constrained := reqs(request("gpus", gpuClass, 5), request("nic", nicClass, 1))
	sameNUMA := match(attrs.NUMANode)

	noClaims := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"}}

	unconstrainedPod, unconstrained := trainPod("c", constrained)

	notGenerated, _ := trainPod("c", constrained, sameNUMA)
	notGenerated.Status.ResourceClaimStatuses = nil

	otherOwner, otherClaim := trainPod("c", constrained, sameNUMA)
	otherClaim.OwnerReferences[0].UID = "someone-else"

	deletingPod, deleting := trainPod("c", constrained, sameNUMA)
	deleting.DeletionTimestamp = &metav1.Time{}

	pendingPod, pendingClaim := trainPod("c", constrained, sameNUMA)

	tests := map[string]struct {
		pod     *v1.Pod
		claim   *resourceapi.ResourceClaim
		noDRA   bool
		pending bool
	}{
		"no claims":             {pod: noClaims},
		"no constraint":         {pod: unconstrainedPod, claim: unconstrained},
		"claim not created yet": {pod: notGenerated},
		"claim of another pod":  {pod: otherOwner, claim: otherClaim},
		"claim being deleted":   {pod: deletingPod, claim: deleting},
		"allocation pending":    {pod: pendingPod, claim: pendingClaim, pending: true},
		"DRA off":               {pod: pendingPod, claim: pendingClaim, noDRA: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dra := &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{}, classes: schedtest.ShippedClasses(t), slices: testSlices()}
			if tc.claim != nil {
				dra.claims["default/"+tc.claim.Name] = tc.claim
				if tc.pending {
					dra.pending = map[types.UID]bool{tc.claim.UID: true}
				}
			}
			fts := allFeatures
			fts.EnableDynamicResourceAllocation = !tc.noDRA
			pl := newPlugin(dra, fts)
			_, ctx := ktesting.NewTestContext(t)
			state := framework.NewCycleState()
			if _, status := pl.PreFilter(ctx, state, tc.pod, nil); status.Code() != fwk.Skip {
				t.Errorf("PreFilter = %v, want Skip", status)
			}
			// Filter without PreFilter's state admits every node.
			if status := pl.Filter(ctx, state, tc.pod, nodeInfo(testNode)); !status.IsSuccess() {
				t.Errorf("Filter = %v, want success", status)
			}
		})
	}
}

func TestFilterCancelled(t *testing.T) {
	pl := newPlugin(&fakeDRA{}, allFeatures)
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(context.DeadlineExceeded)
	status := pl.Filter(ctx, framework.NewCycleState(), &v1.Pod{}, nodeInfo(testNode))
	if status.Code() != fwk.UnschedulableAndUnresolvable {
		t.Errorf("Filter after cancellation = %v", status)
	}
}

func TestSignPod(t *testing.T) {
	pl := newPlugin(&fakeDRA{}, allFeatures)
	pod, _ := trainPod("c", nil)
	if _, status := pl.SignPod(t.Context(), pod); status.Code() != fwk.Unschedulable {
		t.Errorf("SignPod(pod with claims) = %v, want Unschedulable", status)
	}
	fragments, status := pl.SignPod(t.Context(), &v1.Pod{})
	if !status.IsSuccess() || len(fragments) != 0 {
		t.Errorf("SignPod(pod without claims) = %v, %v; want success without fragments", fragments, status)
	}
}

func TestEvents(t *testing.T) {
	pl := newPlugin(&fakeDRA{}, allFeatures)
	events, err := pl.EventsToRegister(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	registered := map[fwk.EventResource]fwk.ActionType{}
	var claimHint fwk.QueueingHintFn
	for _, e := range events {
		registered[e.Event.Resource] |= e.Event.ActionType
		if e.Event.Resource == fwk.ResourceClaim {
			claimHint = e.QueueingHintFn
		}
	}
	for resource, actions := range map[fwk.EventResource]fwk.ActionType{
		fwk.ResourceSlice: fwk.Add | fwk.Update,
		fwk.DeviceClass:   fwk.Add | fwk.Update,
		fwk.ResourceClaim: fwk.Add | fwk.Update,
		fwk.Node:          fwk.Add,
	} {
		if registered[resource]&actions != actions {
			t.Errorf("%s: registered %v, want at least %v", resource, registered[resource], actions)
		}
	}

	logger, _ := ktesting.NewTestContext(t)
	pod, own := trainPod("train-0", nil)
	other := claim("other", nil)
	otherNamespace := own.DeepCopy()
	otherNamespace.Namespace = "elsewhere"
	for c, want := range map[*resourceapi.ResourceClaim]fwk.QueueingHint{own: fwk.Queue, other: fwk.QueueSkip, otherNamespace: fwk.QueueSkip} {
		if got, err := claimHint(logger, pod, nil, c); got != want || err != nil {
			t.Errorf("hint for claim %s/%s = %v, %v; want %v", c.Namespace, c.Name, got, err, want)
		}
	}

	if events, _ := newPlugin(nil, allFeatures).EventsToRegister(t.Context()); len(events) != 0 {
		t.Errorf("without DRA: %d events registered", len(events))
	}
}

// BenchmarkFilter measures one node's check for a pod asking for GPUs,
// CPUs and an InfiniBand NIC on one NUMA node, which the node can align,
// so that every device is evaluated.
func BenchmarkFilter(b *testing.B) {
	pod, c := trainPod("train-0", reqs(
		request("gpus", gpuClass, 4),
		request("cpus", cpuClass, 1, cpus(16)),
		request("nic", nicClass, 1, selector(infiniBand)),
	), match(attrs.NUMANode))
	dra := &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{"default/train-0": c}, slices: testSlices(), classes: schedtest.ShippedClasses(b)}
	pl := newPlugin(dra, allFeatures)
	ctx := b.Context()
	state := framework.NewCycleState()
	if _, status := pl.PreFilter(ctx, state, pod, nil); !status.IsSuccess() {
		b.Fatal(status)
	}
	node := nodeInfo(testNode)
	for b.Loop() {
		if status := pl.Filter(ctx, state, pod, node); !status.IsSuccess() {
			b.Fatal(status)
		}
	}
}
