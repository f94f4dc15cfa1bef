// Package cpu is hadron's exclusive-CPU device family (DRA driver
// cpu.hadron.dev). Each NUMA node is one device whose CPUs are consumable
// capacity (cpu.hadron.dev/cpus) that many claims share, so a claim asks
// for "32 CPUs on the NUMA node of my GPU" with the standard numaNode
// attribute. The allocator only counts; at prepare time the driver picks
// the concrete CPUs (whole cores, one L3 cache where possible), records
// them in the checkpoint and hands them to the container through CDI. On a
// real node an NRI plugin (driver/cpu/nri) applies them as the container's
// cpuset and keeps every other container off them.
package cpu

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"
	"k8s.io/utils/cpuset"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// Family is the CPU device family of one node.
type Family struct {
	nodeName string
	topo     *topology.Topology
	opts     Options
	// nodes are the published NUMA nodes with their offered CPUs.
	nodes map[int]*numaNode
	// online is every online CPU, reserved ones included.
	online cpuset.CPUSet

	mu      sync.Mutex
	claims  map[types.UID]*claimCPUs
	changes chan struct{}
}

// numaNode is one NUMA node as the driver offers it.
type numaNode struct {
	id      int
	socket  int
	offered cpuset.CPUSet
	layout  *layout
}

// claimCPUs is what one prepared claim holds.
type claimCPUs struct {
	cpus cpuset.CPUSet
	pods []types.UID
}

// preparedCPUs is the checkpointed state of one prepared CPU device.
type preparedCPUs struct {
	ClaimUID types.UID   `json:"claimUID"`
	NUMANode int         `json:"numaNode"`
	CPUs     string      `json:"cpus"`
	Pods     []types.UID `json:"pods,omitempty"`
	// WholeCores and L3Groups record how well the choice fit.
	WholeCores bool `json:"wholeCores"`
	L3Groups   int  `json:"l3Groups"`
}

// NewFamily returns the CPU family for the discovered topology. Reserved
// CPUs in opts are never offered.
func NewFamily(nodeName string, topo *topology.Topology, opts Options) (*Family, error) {
	if err := opts.Validate(topo); err != nil {
		return nil, err
	}
	f := &Family{nodeName: nodeName, topo: topo, opts: opts, nodes: map[int]*numaNode{}, online: topo.CPUSet(),
		claims: map[types.UID]*claimCPUs{}, changes: make(chan struct{}, 1)}
	byNode := map[int][]topology.CPU{}
	for _, c := range topo.CPUs {
		if opts.Reserved.Contains(c.ID) {
			continue
		}
		node := c.Node
		if node == topology.Unknown {
			node = 0
		}
		byNode[node] = append(byNode[node], c)
	}
	for id, cpus := range byNode {
		ids := make([]int, 0, len(cpus))
		for _, c := range cpus {
			ids = append(ids, c.ID)
		}
		f.nodes[id] = &numaNode{id: id, socket: cpus[0].Socket, offered: cpuset.New(ids...), layout: newLayout(cpus)}
	}
	return f, nil
}

// DriverName implements driver.Family.
func (f *Family) DriverName() string { return attrs.CPUDriver }

// DeviceName is the device of a NUMA node.
func DeviceName(numaNode int) string { return "numa-" + strconv.Itoa(numaNode) }

// nodeOfDevice parses DeviceName.
func nodeOfDevice(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "numa-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// Resources implements driver.Family.
func (f *Family) Resources(context.Context) (resourceslice.DriverResources, error) {
	ids := make([]int, 0, len(f.nodes))
	for id := range f.nodes {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	devices := make([]resourceapi.Device, 0, len(ids))
	for _, id := range ids {
		devices = append(devices, f.device(f.nodes[id]))
	}
	return resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		f.nodeName: {Slices: driver.SplitSlices(devices)},
	}}, nil
}

// Prepare implements driver.Family: for each CPU device of the claim it
// picks the CPUs the allocation counted, from those no other claim holds.
func (f *Family) Prepare(ctx context.Context, claim *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]driver.PreparedDevice, error) {
	logger := klog.FromContext(ctx)
	var pods []types.UID
	for _, ref := range claim.Status.ReservedFor {
		if ref.Resource == "pods" && ref.APIGroup == "" {
			pods = append(pods, ref.UID)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// A claim is prepared at most once; anything left from an earlier,
	// rolled-back attempt is stale.
	delete(f.claims, claim.UID)
	held := &claimCPUs{pods: pods, cpus: cpuset.New()}
	out := make([]driver.PreparedDevice, 0, len(results))
	for _, r := range results {
		if err := driver.CheckResult(attrs.CPUDriver, f.nodeName, r); err != nil {
			return nil, fmt.Errorf("request %q: %w", r.Request, err)
		}
		id, ok := nodeOfDevice(r.Device)
		node := f.nodes[id]
		if !ok || node == nil {
			return nil, fmt.Errorf("request %q: device %q is not a CPU device on node %s", r.Request, r.Device, f.nodeName)
		}
		want, ok := r.ConsumedCapacity[attrs.CPUs]
		if !ok || want.Value() <= 0 {
			return nil, fmt.Errorf("request %q: allocation of %s records no %s", r.Request, r.Device, attrs.CPUs)
		}
		free := node.offered.Difference(f.exclusiveLocked()).Difference(held.cpus)
		choice, err := node.layout.choose(free, int(want.Value()))
		if err != nil {
			return nil, fmt.Errorf("request %q: NUMA node %d: %w", r.Request, id, err)
		}
		held.cpus = held.cpus.Union(choice.CPUs)
		state := preparedCPUs{ClaimUID: claim.UID, NUMANode: id, CPUs: choice.CPUs.String(), Pods: pods,
			WholeCores: choice.WholeCores, L3Groups: choice.L3Groups}
		p, err := driver.NewPreparedDevice(r, edits(claim.UID, id, choice.CPUs), state)
		if err != nil {
			return nil, err
		}
		logger.V(2).Info("Chose CPUs", "claim", klog.KObj(claim), "numaNode", id, "cpus", state.CPUs,
			"wholeCores", choice.WholeCores, "l3Groups", choice.L3Groups)
		out = append(out, p)
	}
	f.claims[claim.UID] = held
	f.notify()
	return out, nil
}

// Unprepare implements driver.Family: the claim's CPUs return to the pool.
// Nothing on the node needs undoing; the NRI plugin widens the other
// containers' cpusets when notified.
func (f *Family) Unprepare(_ context.Context, claimUID types.UID, _ []checkpoint.Device) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.claims[claimUID]; ok {
		delete(f.claims, claimUID)
		f.notify()
	}
	return nil
}

// Reconcile implements driver.Reconciler: after a restart the CPUs held by
// prepared claims are rebuilt from the checkpoint. Overlapping records
// mean a corrupted checkpoint and stop the driver rather than hand the
// same CPUs out again.
func (f *Family) Reconcile(_ context.Context, prepared []checkpoint.Device) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	claims := map[types.UID]*claimCPUs{}
	all := cpuset.New()
	for _, d := range prepared {
		if len(d.State) == 0 {
			continue
		}
		var s preparedCPUs
		if err := json.Unmarshal(d.State, &s); err != nil {
			return fmt.Errorf("device %s: decode prepared CPUs: %w", d.Device, err)
		}
		cpus, err := cpuset.Parse(s.CPUs)
		if err != nil {
			return fmt.Errorf("device %s: prepared CPUs %q: %w", d.Device, s.CPUs, err)
		}
		if overlap := all.Intersection(cpus); !overlap.IsEmpty() {
			return fmt.Errorf("device %s: CPUs %s of claim %s are recorded for another claim too", d.Device, overlap, s.ClaimUID)
		}
		all = all.Union(cpus)
		c, ok := claims[s.ClaimUID]
		if !ok {
			c = &claimCPUs{cpus: cpuset.New(), pods: s.Pods}
			claims[s.ClaimUID] = c
		}
		c.cpus = c.cpus.Union(cpus)
	}
	f.claims = claims
	f.notify()
	return nil
}

// exclusiveLocked is every CPU held by a prepared claim.
func (f *Family) exclusiveLocked() cpuset.CPUSet {
	all := cpuset.New()
	for _, c := range f.claims {
		all = all.Union(c.cpus)
	}
	return all
}

// notify signals Changes without blocking; signals coalesce.
func (f *Family) notify() {
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

// ClaimEnvPrefix starts the env variable that tells the NRI plugin which
// claim a container uses. Its value is only a key: the CPUs come from the
// driver's own state, never from the container's environment.
const ClaimEnvPrefix = "HADRON_CPU_CLAIM_"

// ClaimEnvName is the env variable naming a claim in a container.
func ClaimEnvName(uid types.UID) string {
	return ClaimEnvPrefix + strings.ReplaceAll(string(uid), "-", "_")
}

// edits hands the CPUs to the container: the list for the workload
// (HADRON_CPUSET_NUMA<n>, e.g. for OpenMP/MPI pinning) and the claim key
// for the NRI plugin.
func edits(uid types.UID, node int, cpus cpuset.CPUSet) cdispec.ContainerEdits {
	return cdispec.ContainerEdits{Env: []string{
		fmt.Sprintf("HADRON_CPUSET_NUMA%d=%s", node, cpus.String()),
		ClaimEnvName(uid) + "=" + string(uid),
	}}
}
