package testfixtures

import (
	"fmt"
	"io/fs"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/dynamic-resource-allocation/structured"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Manager is an in-memory fwk.SharedDRAManager: slices, classes, claims and
// allocations set by the test.
type Manager struct {
	Slices  []*resourceapi.ResourceSlice
	Classes map[string]*resourceapi.DeviceClass
	Claims  map[string]*resourceapi.ResourceClaim // namespace/name
	State   structured.AllocatedState
}

// NewManager returns a manager with hadron's DeviceClasses and nothing
// allocated.
func NewManager(slices ...[]*resourceapi.ResourceSlice) *Manager {
	m := &Manager{Classes: Classes(), Claims: map[string]*resourceapi.ResourceClaim{}, State: EmptyState()}
	for _, s := range slices {
		m.Slices = append(m.Slices, s...)
	}
	return m
}

// EmptyState is an allocated state with nothing allocated.
func EmptyState() structured.AllocatedState {
	return structured.AllocatedState{
		AllocatedDevices:         sets.New[structured.DeviceID](),
		AllocatedSharedDeviceIDs: sets.New[structured.SharedDeviceID](),
		AggregatedCapacity:       structured.NewConsumedCapacityCollection(),
	}
}

// Allocate marks a device allocated whole.
func (m *Manager) Allocate(driver, pool, device string) {
	m.State.AllocatedDevices.Insert(structured.MakeDeviceID(driver, pool, device))
}

// Share records one share of a shared device consuming the given
// capacities.
func (m *Manager) Share(driver, pool, device string, consumed map[resourceapi.QualifiedName]int64) {
	id := structured.MakeDeviceID(driver, pool, device)
	shareID := types.UID(fmt.Sprintf("share-%d", m.State.AllocatedSharedDeviceIDs.Len()))
	m.State.AllocatedSharedDeviceIDs.Insert(structured.MakeSharedDeviceID(id, &shareID))
	c := map[resourceapi.QualifiedName]resource.Quantity{}
	for name, v := range consumed {
		c[name] = *resource.NewQuantity(v, resource.DecimalSI)
	}
	m.State.AggregatedCapacity.Insert(structured.NewDeviceConsumedCapacity(id, c))
}

// AddClaim stores a claim.
func (m *Manager) AddClaim(c *resourceapi.ResourceClaim) { m.Claims[c.Namespace+"/"+c.Name] = c }

func (m *Manager) ResourceClaims() fwk.ResourceClaimTracker { return claimTracker{m: m} }
func (m *Manager) ResourceSlices() fwk.ResourceSliceLister  { return sliceLister{m} }
func (m *Manager) DeviceClasses() fwk.DeviceClassLister     { return classLister{m} }
func (m *Manager) DeviceClassResolver() fwk.DeviceClassResolver {
	return nil
}

type sliceLister struct{ m *Manager }

func (l sliceLister) ListWithDeviceTaintRules() ([]*resourceapi.ResourceSlice, error) {
	return append([]*resourceapi.ResourceSlice(nil), l.m.Slices...), nil
}

type classLister struct{ m *Manager }

func (l classLister) List() ([]*resourceapi.DeviceClass, error) {
	var out []*resourceapi.DeviceClass
	for _, c := range l.m.Classes {
		out = append(out, c)
	}
	return out, nil
}

func (l classLister) Get(name string) (*resourceapi.DeviceClass, error) {
	if c, ok := l.m.Classes[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("deviceclasses"), name)
}

// claimTracker implements the reads the plugins make; the embedded nil
// interface makes any other call fail loudly.
type claimTracker struct {
	m *Manager
	fwk.ResourceClaimTracker
}

func (t claimTracker) Get(namespace, name string) (*resourceapi.ResourceClaim, error) {
	if c, ok := t.m.Claims[namespace+"/"+name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("resourceclaims"), name)
}

func (t claimTracker) GatherAllocatedState() (*structured.AllocatedState, error) {
	s := t.m.State
	return &structured.AllocatedState{
		AllocatedDevices:         s.AllocatedDevices.Clone(),
		AllocatedSharedDeviceIDs: s.AllocatedSharedDeviceIDs.Clone(),
		AggregatedCapacity:       s.AggregatedCapacity.Clone(),
	}, nil
}

func (t claimTracker) ListAllAllocatedDevices() (sets.Set[structured.DeviceID], error) {
	return t.m.State.AllocatedDevices.Clone(), nil
}

func (t claimTracker) GetPendingAllocation(types.UID) *resourceapi.AllocationResult { return nil }

// Class names, as deploy/deviceclasses defines them.
const (
	GPUClass    = "gpu.hadron.dev"
	MIGClass    = "mig.gpu.hadron.dev"
	SharedClass = "shared.gpu.hadron.dev"
	CPUClass    = "cpu.hadron.dev"
	NICClass    = "nic.hadron.dev"
)

// Classes returns hadron's DeviceClasses as deploy/deviceclasses ships
// them, so that the tests select devices the way clusters do.
func Classes() map[string]*resourceapi.DeviceClass {
	files, err := fs.Glob(deploy.DeviceClasses, "deviceclasses/*.yaml")
	if err != nil || len(files) == 0 {
		// The files are embedded at build time: this is a broken build.
		panic(fmt.Sprintf("no shipped DeviceClasses: %v", err))
	}
	out := map[string]*resourceapi.DeviceClass{}
	for _, file := range files {
		data, err := fs.ReadFile(deploy.DeviceClasses, file)
		if err != nil {
			panic(err)
		}
		class := &resourceapi.DeviceClass{}
		if err := yaml.UnmarshalStrict(data, class); err != nil {
			panic(fmt.Sprintf("%s: %v", file, err))
		}
		out[class.Name] = class
	}
	return out
}

// Request is an ExactCount request of a class with optional CEL selectors.
func Request(name, class string, count int64, cel ...string) resourceapi.DeviceRequest {
	r := resourceapi.DeviceRequest{Name: name, Exactly: &resourceapi.ExactDeviceRequest{
		DeviceClassName: class, AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: count}}
	for _, e := range cel {
		r.Exactly.Selectors = append(r.Exactly.Selectors, resourceapi.DeviceSelector{CEL: &resourceapi.CELDeviceSelector{Expression: e}})
	}
	return r
}

// ShareRequest asks for a share of a shared GPU with the given compute.
func ShareRequest(name string, milli int64) resourceapi.DeviceRequest {
	r := Request(name, SharedClass, 1)
	r.Exactly.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
		attrs.GPUCompute: *resource.NewQuantity(milli, resource.DecimalSI)}}
	return r
}

// CPURequest asks for cpus CPUs of one NUMA node's CPU device.
func CPURequest(name string, cpus int64) resourceapi.DeviceRequest {
	r := Request(name, CPUClass, 1)
	r.Exactly.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
		attrs.CPUs: *resource.NewQuantity(cpus, resource.DecimalSI)}}
	return r
}

// Claim is claim default/<name> with the requests; align, when not empty,
// adds a matchAttribute constraint over all of them.
func Claim(name string, align resourceapi.FullyQualifiedName, requests ...resourceapi.DeviceRequest) *resourceapi.ResourceClaim {
	c := &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("claim-" + name)},
		Spec:       resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{Requests: requests}},
	}
	if align != "" {
		c.Spec.Devices.Constraints = []resourceapi.DeviceConstraint{{MatchAttribute: ptr.To(align)}}
	}
	return c
}

// Pod is pod default/<name> using the named claims.
func Pod(name string, claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("pod-" + name)}}
	for _, c := range claims {
		p.Spec.ResourceClaims = append(p.Spec.ResourceClaims, v1.PodResourceClaim{Name: c, ResourceClaimName: ptr.To(c)})
	}
	return p
}
