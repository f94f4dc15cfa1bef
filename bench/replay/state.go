package replay

import (
	"fmt"
	"strings"

	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/quota"
	"github.com/hadron-sched/hadron/scheduler-plugin/fragmentation"
)

// noNUMA is the NUMA node of a GPU that publishes none.
const noNUMA = -1

// gpuState is one GPU of a node and how much of it is allocated.
type gpuState struct {
	device              string
	numa                int
	idleWatts, maxWatts float64
	usedMilli           int64
}

// nodeState is one node's capacity and what is allocated of it.
type nodeState struct {
	name string
	// cpuMilli is the node's CPU capacity, requestedCPUMilli what pods
	// on it request.
	cpuMilli, requestedCPUMilli int64
	// packages is the node's number of CPU packages and their power.
	packages                      int
	packageIdleW, packageMaxWatts float64
	gpus                          []gpuState
	gpuByDevice                   map[string]int
	// frag caches the node's fragmentation (milli-GPU) against the
	// target it was computed for; apply clears it. One event changes
	// one node, so a sample after each event recomputes one node rather
	// than the cluster.
	frag *cachedFragmentation
}

type cachedFragmentation struct {
	target []fragmentation.TypicalRequest
	milli  float64
}

// newNodeState models a node from its trace row, its machine and the GPU
// devices of its slices (power and NUMA node as published).
func newNodeState(n trace.ClusterNode, slices []resourceapi.ResourceSlice) *nodeState {
	ns := &nodeState{name: n.Trace.Name, cpuMilli: n.Trace.CPUMilli, gpuByDevice: map[string]int{}}
	if m := n.Machine; m != nil {
		ns.packages = m.CPU.Sockets
		ns.packageIdleW, ns.packageMaxWatts = float64(m.CPU.PackageIdleWatts), float64(m.CPU.PackageMaxWatts)
	}
	for _, s := range slices {
		if s.Spec.Driver != attrs.GPUDriver {
			continue
		}
		for i := range s.Spec.Devices {
			d := &s.Spec.Devices[i]
			g := gpuState{device: d.Name, numa: noNUMA}
			if v, ok := intAttribute(d, attrs.NUMANode); ok {
				g.numa = int(v)
			}
			if v, ok := intAttribute(d, attrs.GPUIdlePowerWatts); ok {
				g.idleWatts = float64(v)
			}
			if v, ok := intAttribute(d, attrs.GPUMaxPowerWatts); ok {
				g.maxWatts = float64(v)
			}
			ns.gpuByDevice[d.Name] = len(ns.gpus)
			ns.gpus = append(ns.gpus, g)
		}
	}
	return ns
}

func intAttribute[N ~string](d *resourceapi.Device, name N) (int64, bool) {
	a, ok := d.Attributes[resourceapi.QualifiedName(name)]
	if !ok || a.IntValue == nil {
		return 0, false
	}
	return *a.IntValue, true
}

// placement is where a pod went.
type placement struct {
	node   string
	tenant string
	cpu    int64
	// gpus maps GPU indexes of the node to the milli-GPU taken.
	gpus    map[int]int64
	devices []string
	cost    quota.List
}

// String is the placement as PolicyResult.Placements records it:
// node/device,device,...
func (p *placement) String() string {
	return p.node + "/" + strings.Join(p.devices, ",")
}

// gpuPlacement reads the GPUs a claim's allocation took on node ns: the
// compute each share consumed, or the whole GPU for a dedicated
// allocation.
func gpuPlacement(ns *nodeState, alloc *resourceapi.AllocationResult) (map[int]int64, []string, error) {
	gpus := map[int]int64{}
	var devices []string
	if alloc == nil {
		return gpus, devices, nil
	}
	for _, r := range alloc.Devices.Results {
		devices = append(devices, r.Device)
		if r.Driver != attrs.GPUDriver {
			continue
		}
		if r.Pool != ns.name {
			return nil, nil, fmt.Errorf("device %s/%s is not of node %s", r.Pool, r.Device, ns.name)
		}
		gi, ok := ns.gpuByDevice[r.Device]
		if !ok {
			return nil, nil, fmt.Errorf("unknown GPU %s on node %s", r.Device, ns.name)
		}
		milli := int64(wholeMilli)
		if q, ok := r.ConsumedCapacity[attrs.GPUCompute]; ok {
			milli = q.Value()
		}
		gpus[gi] += milli
	}
	return gpus, devices, nil
}

// apply adds (sign 1) or removes (sign -1) a placement's use of its node.
func (ns *nodeState) apply(p *placement, sign int64) {
	ns.frag = nil
	ns.requestedCPUMilli += sign * p.cpu
	for gi, milli := range p.gpus {
		ns.gpus[gi].usedMilli += sign * milli
	}
}

// gpusPerNUMA is the most GPUs one of the node's NUMA nodes holds (GPUs
// without a NUMA node count for none).
func (ns *nodeState) gpusPerNUMA() int {
	count := map[int]int{}
	most := 0
	for _, g := range ns.gpus {
		if g.numa != noNUMA {
			count[g.numa]++
			most = max(most, count[g.numa])
		}
	}
	return most
}

// aligned says whether a placement's GPUs all sit on one NUMA node.
func (ns *nodeState) aligned(p *placement) bool {
	numa := noNUMA
	for gi := range p.gpus {
		n := ns.gpus[gi].numa
		if n == noNUMA || (numa != noNUMA && n != numa) {
			return false
		}
		numa = n
	}
	return true
}

// allocatedGPUs is the allocated GPU capacity of the nodes, in GPUs.
func allocatedGPUs(nodes []*nodeState) float64 {
	var milli int64
	for _, n := range nodes {
		for _, g := range n.gpus {
			milli += min(g.usedMilli, wholeMilli)
		}
	}
	return float64(milli) / wholeMilli
}

// fragmentedGPUs is FGD's fragmentation of the nodes against target, in
// GPUs: every GPU serves both whole and share requests.
func fragmentedGPUs(nodes []*nodeState, target []fragmentation.TypicalRequest) (float64, error) {
	var milli float64
	for _, n := range nodes {
		f, err := n.fragmentation(target)
		if err != nil {
			return 0, err
		}
		milli += f
	}
	return milli / wholeMilli, nil
}

// fragmentation is the node's fragmentation against target in
// milli-GPU, from the cache while nothing changed on the node.
func (ns *nodeState) fragmentation(target []fragmentation.TypicalRequest) (float64, error) {
	if len(ns.gpus) == 0 {
		return 0, nil
	}
	if c := ns.frag; c != nil && sameTarget(c.target, target) {
		return c.milli, nil
	}
	gs := make([]fragmentation.GPUState, len(ns.gpus))
	for i, g := range ns.gpus {
		gs[i] = fragmentation.GPUState{Whole: true, Shares: true, UsedMilli: min(max(g.usedMilli, 0), wholeMilli)}
	}
	f, err := fragmentation.Fragmentation(gs, target)
	if err != nil {
		return 0, fmt.Errorf("node %s: %w", ns.name, err)
	}
	ns.frag = &cachedFragmentation{target: target, milli: f}
	return f, nil
}

// sameTarget says whether two targets are the same slice (a run's target
// never changes; a different one recomputes).
func sameTarget(a, b []fragmentation.TypicalRequest) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// powerWatts is the modelled power of the nodes: each GPU draws its idle
// power while nothing of it is allocated and its maximum otherwise (the
// binary model of the PWR+FGD work); each CPU package draws
// idle + (max - idle) x the node's requested share of its CPUs, the
// requests spread evenly over its packages.
func powerWatts(nodes []*nodeState) float64 {
	var w float64
	for _, n := range nodes {
		for _, g := range n.gpus {
			if g.usedMilli > 0 {
				w += g.maxWatts
			} else {
				w += g.idleWatts
			}
		}
		share := 0.0
		if n.cpuMilli > 0 {
			share = min(1, max(0, float64(n.requestedCPUMilli)/float64(n.cpuMilli)))
		}
		w += float64(n.packages) * (n.packageIdleW + (n.packageMaxWatts-n.packageIdleW)*share)
	}
	return w
}
