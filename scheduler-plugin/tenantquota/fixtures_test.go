package tenantquota

import (
	"fmt"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// fakeDRA is the part of the scheduler's DRA manager the plugin uses: the
// claims (as the assume cache has them), in-flight allocations and slices.
type fakeDRA struct {
	fwk.ResourceClaimTracker // unused methods panic
	mu                       sync.Mutex
	claims                   map[string]*resourceapi.ResourceClaim // namespace/name
	pending                  map[types.UID]*resourceapi.AllocationResult
	slices                   []*resourceapi.ResourceSlice
	// lists counts the calls of ListWithDeviceTaintRules.
	lists int
	// extended are the extended resources a DeviceClass backs.
	extended map[v1.ResourceName]bool
}

func newFakeDRA(slices ...*resourceapi.ResourceSlice) *fakeDRA {
	return &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{}, pending: map[types.UID]*resourceapi.AllocationResult{}, slices: slices}
}

func (f *fakeDRA) ResourceClaims() fwk.ResourceClaimTracker     { return f }
func (f *fakeDRA) ResourceSlices() fwk.ResourceSliceLister      { return f }
func (f *fakeDRA) DeviceClasses() fwk.DeviceClassLister         { return nil }
func (f *fakeDRA) DeviceClassResolver() fwk.DeviceClassResolver { return f }
func (f *fakeDRA) GetDeviceClass(name v1.ResourceName) *resourceapi.DeviceClass {
	if f.extended[name] {
		return &resourceapi.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "class-of-" + string(name)}}
	}
	return nil
}

func (f *fakeDRA) ListWithDeviceTaintRules() ([]*resourceapi.ResourceSlice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return f.slices, nil
}

func (f *fakeDRA) Get(namespace, name string) (*resourceapi.ResourceClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.claims[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(resourceapi.Resource("resourceclaims"), name)
	}
	return c, nil
}

func (f *fakeDRA) GetPendingAllocation(uid types.UID) *resourceapi.AllocationResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending[uid]
}

func (f *fakeDRA) setClaim(c *resourceapi.ResourceClaim) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims[c.Namespace+"/"+c.Name] = c
}

func (f *fakeDRA) setPending(uid types.UID, alloc *resourceapi.AllocationResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if alloc == nil {
		delete(f.pending, uid)
		return
	}
	f.pending[uid] = alloc
}

// fakeActivator records activated pods.
type fakeActivator struct {
	mu   sync.Mutex
	pods []string
}

func (a *fakeActivator) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key := range pods {
		a.pods = append(a.pods, key)
	}
}

func (a *fakeActivator) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.pods
	a.pods = nil
	return out
}

// harness is a keeper on fakes, synced, with a few namespaces.
type harness struct {
	t         *testing.T
	logger    klog.Logger
	k         *keeper
	pl        *Plugin
	dra       *fakeDRA
	nsStore   cache.Indexer
	activator *fakeActivator
	recorder  *events.FakeRecorder
	client    *fake.Clientset
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	logger, _ := ktesting.NewTestContext(t)
	args := &Args{}
	args.SetDefaults()
	h := &harness{
		t:         t,
		logger:    logger,
		dra:       newFakeDRA(gpuSlice("node-1", 8)),
		nsStore:   cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		activator: &fakeActivator{},
		recorder:  events.NewFakeRecorder(100),
		client:    fake.NewClientset(),
	}
	h.k = newKeeper(args, h.dra, corelisters.NewNamespaceLister(h.nsStore), h.activator, h.client, h.recorder)
	for _, s := range h.dra.slices {
		h.k.pools.update(nil, s)
	}
	h.k.tenants.synced.Store(true)
	h.pl = &Plugin{k: h.k}
	return h
}

// gpuSlice publishes n whole 80Gi GPUs gpu-0..gpu-<n-1> in pool node.
func gpuSlice(node string, n int) *resourceapi.ResourceSlice {
	s := &resourceapi.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: node + "-gpu"},
		Spec:       resourceapi.ResourceSliceSpec{Driver: attrs.GPUDriver, Pool: resourceapi.ResourcePool{Name: node}, NodeName: ptr.To(node)},
	}
	for i := range n {
		s.Spec.Devices = append(s.Spec.Devices, resourceapi.Device{
			Name:       fmt.Sprintf("gpu-%d", i),
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{attrs.GPUType: {StringValue: ptr.To(attrs.GPUTypeWhole)}},
			Capacity:   map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.GPUMemory: {Value: resource.MustParse("80Gi")}},
		})
	}
	return s
}

// namespace adds a namespace of tenant ("" for none), owned by owner
// ("" for none).
func (h *harness) namespace(name, tenant, owner string) {
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if tenant != "" {
		ns.Labels[DefaultTenantLabel] = tenant
	}
	if owner != "" {
		ns.OwnerReferences = []metav1.OwnerReference{{APIVersion: "capsule.clastix.io/v1beta2", Kind: "Tenant", Name: owner, UID: "tenant-uid"}}
	}
	if err := h.nsStore.Add(ns); err != nil {
		h.t.Fatal(err)
	}
	h.k.namespaceHandler(h.logger).OnAdd(ns, false)
}

// tenant creates or updates a Tenant with the given labels.
func (h *harness) tenant(name string, labels map[string]string) {
	h.k.tenants.apply(h.logger, &metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: labels, ResourceVersion: "1"})
}

// gpuClaim creates claim name in ns asking for one whole GPU.
func (h *harness) gpuClaim(ns, name string) *resourceapi.ResourceClaim {
	c := &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name), ResourceVersion: "10"},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{{
			Name: "gpu", Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: "gpu.hadron.dev", AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 1},
		}}}},
	}
	h.dra.setClaim(c)
	return c
}

// pod creates a pod in ns using the named claims.
func pod(ns, name string, claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name)}}
	for _, c := range claims {
		p.Spec.ResourceClaims = append(p.Spec.ResourceClaims, v1.PodResourceClaim{Name: c, ResourceClaimName: ptr.To(c)})
	}
	return p
}

// allocation of one GPU device of node-1.
func allocation(device string) *resourceapi.AllocationResult {
	return &resourceapi.AllocationResult{Devices: resourceapi.DeviceAllocationResult{Results: []resourceapi.DeviceRequestAllocationResult{
		{Request: "gpu", Driver: attrs.GPUDriver, Pool: "node-1", Device: device},
	}}}
}

// allocated returns a copy of c as the API has it after the allocation
// was written.
func allocated(c *resourceapi.ResourceClaim, alloc *resourceapi.AllocationResult, rv string) *resourceapi.ResourceClaim {
	c = c.DeepCopy()
	c.Status.Allocation = alloc
	c.ResourceVersion = rv
	return c
}
