package simhw

import (
	"math/bits"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// wireDevice installs the machine-specific answers on one mock device. The
// mock already answers name, brand, architecture, compute capability,
// index, minor number and MIG profile information from its GPU
// configuration.
func (n *NVML) wireDevice(g *simGPU) {
	d := g.dev
	d.UUID = gpuUUID(n.seed, g.index)
	// The mock matches DeviceGetHandleByPciBusId against this field; keep it
	// in NVML's own format even though wireLibrary replaces that lookup.
	d.PciBusID = g.addr.nvmlBusID()

	d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
		return g.pciInfo(), nvml.SUCCESS
	}
	d.GetNumaNodeIdFunc = func() (int, nvml.Return) {
		return g.spec.NUMANode, nvml.SUCCESS
	}
	d.GetSerialFunc = func() (string, nvml.Return) {
		return g.serial, nvml.SUCCESS
	}

	// Power: NVML reports milliwatts. The limits are the board's maximum;
	// nothing in the simulation lowers them.
	limit := uint32(g.spec.MaxPowerWatts) * 1000
	d.GetPowerUsageFunc = func() (uint32, nvml.Return) {
		return g.powerMilliwatts(), nvml.SUCCESS
	}
	d.GetPowerManagementLimitFunc = func() (uint32, nvml.Return) { return limit, nvml.SUCCESS }
	d.GetPowerManagementDefaultLimitFunc = func() (uint32, nvml.Return) { return limit, nvml.SUCCESS }
	d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return limit, nvml.SUCCESS }

	// Utilisation: the simulated load drives both the SM and the memory
	// counters, which is what a busy training job looks like.
	d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
		u := uint32(g.util.Load())
		return nvml.Utilization{Gpu: u, Memory: u}, nvml.SUCCESS
	}

	// Memory: the mock reports no free memory at all; an idle simulated GPU
	// has all of it free.
	total := d.MemoryInfo.Total
	d.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
		return nvml.Memory{Total: total, Free: total}, nvml.SUCCESS
	}
	d.GetMemoryInfo_v2Func = func() (nvml.Memory_v2, nvml.Return) {
		m := nvml.Memory_v2{Total: total, Free: total}
		m.Version = nvml.STRUCT_VERSION(m, 2)
		return m, nvml.SUCCESS
	}
	d.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
		return []nvml.ProcessInfo{}, nvml.SUCCESS
	}

	// PCIe link: datacenter GPUs sit in x16 slots at their generation.
	d.GetCurrPcieLinkGenerationFunc = func() (int, nvml.Return) { return g.pcieGen, nvml.SUCCESS }
	d.GetMaxPcieLinkGenerationFunc = func() (int, nvml.Return) { return g.pcieGen, nvml.SUCCESS }
	d.GetCurrPcieLinkWidthFunc = func() (int, nvml.Return) { return 16, nvml.SUCCESS }
	d.GetMaxPcieLinkWidthFunc = func() (int, nvml.Return) { return 16, nvml.SUCCESS }

	// Affinity and topology, from the machine description.
	d.GetCpuAffinityFunc = func(numCPUs int) ([]uint, nvml.Return) {
		return n.cpuAffinity(g, numCPUs, nvml.AFFINITY_SCOPE_NODE)
	}
	d.GetCpuAffinityWithinScopeFunc = func(numCPUs int, scope nvml.AffinityScope) ([]uint, nvml.Return) {
		return n.cpuAffinity(g, numCPUs, scope)
	}
	d.GetMemoryAffinityFunc = func(numNodes int, scope nvml.AffinityScope) ([]uint, nvml.Return) {
		return n.memoryAffinity(g, numNodes, scope)
	}
	d.GetTopologyCommonAncestorFunc = func(other nvml.Device) (nvml.GpuTopologyLevel, nvml.Return) {
		return n.commonAncestor(g, other)
	}

	n.wireMIG(g)
	n.wireEvents(g)
}

// pciInfo fills nvml.PciInfo as NVML does: upper-case hex bus IDs with an
// 8-digit (BusId) or 4-digit (BusIdLegacy) domain, and the device ID in the
// high half of PciDeviceId with the vendor in the low half.
func (g *simGPU) pciInfo() nvml.PciInfo {
	info := nvml.PciInfo{
		Domain:      g.addr.Domain,
		Bus:         g.addr.Bus,
		Device:      g.addr.Device,
		PciDeviceId: g.dev.Config.PciDeviceId,
	}
	copyCString(info.BusId[:], g.addr.nvmlBusID())
	copyCString(info.BusIdLegacy[:], g.addr.nvmlBusIDLegacy())
	return info
}

// copyCString copies s into a NUL-terminated C char array, truncating if
// needed (the formats used always fit).
func copyCString(dst []int8, s string) {
	n := copy(dst[:len(dst)-1], toInt8(s))
	dst[n] = 0
}

func toInt8(s string) []int8 {
	out := make([]int8, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int8(s[i])
	}
	return out
}

// affinityWords is how many unsigned longs go-nvml's wrappers allocate for
// n CPUs or nodes: (n-1)/sizeof(uint)+1. That is more than n bits need, but
// callers size their parsing on it, so the simulation returns exactly as
// many words as the real wrapper.
func affinityWords(n int) int {
	return (n-1)/(bits.UintSize/8) + 1
}

// setBits builds a bitmask of ids in words of bits.UintSize bits, or
// reports that it does not fit.
func setBits(words int, ids []int) ([]uint, bool) {
	mask := make([]uint, words)
	for _, id := range ids {
		w := id / bits.UintSize
		if w >= words {
			return nil, false
		}
		mask[w] |= 1 << (uint(id) % bits.UintSize)
	}
	return mask, true
}

// affinityNodes returns the NUMA nodes in scope of a GPU: its own node, or
// every node of its socket.
func (n *NVML) affinityNodes(g *simGPU, scope nvml.AffinityScope) ([]int, bool) {
	c := &n.machine.CPU
	switch scope {
	case nvml.AFFINITY_SCOPE_NODE:
		return []int{g.spec.NUMANode}, true
	case nvml.AFFINITY_SCOPE_SOCKET:
		socket := c.socketOfNode(g.spec.NUMANode)
		nodes := make([]int, 0, c.NUMANodesPerSocket)
		for i := 0; i < c.NUMANodesPerSocket; i++ {
			nodes = append(nodes, socket*c.NUMANodesPerSocket+i)
		}
		return nodes, true
	default:
		return nil, false
	}
}

func (n *NVML) cpuAffinity(g *simGPU, numCPUs int, scope nvml.AffinityScope) ([]uint, nvml.Return) {
	nodes, ok := n.affinityNodes(g, scope)
	if !ok || numCPUs <= 0 {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	var cpus []int
	for _, node := range nodes {
		cpus = append(cpus, n.machine.CPU.nodeCPUs(node)...)
	}
	mask, fits := setBits(affinityWords(numCPUs), cpus)
	if !fits {
		return nil, nvml.ERROR_INSUFFICIENT_SIZE
	}
	return mask, nvml.SUCCESS
}

func (n *NVML) memoryAffinity(g *simGPU, numNodes int, scope nvml.AffinityScope) ([]uint, nvml.Return) {
	nodes, ok := n.affinityNodes(g, scope)
	if !ok || numNodes <= 0 {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	mask, fits := setBits(affinityWords(numNodes), nodes)
	if !fits {
		return nil, nvml.ERROR_INSUFFICIENT_SIZE
	}
	return mask, nvml.SUCCESS
}

// commonAncestor answers GetTopologyCommonAncestor from the same facts the
// sysfs tree is written from, so NVML and sysfs agree: GPUs under one host
// bridge meet there (each has its own root port), GPUs on one NUMA node
// meet in the CPU, others only across the inter-node/socket interconnect.
func (n *NVML) commonAncestor(g *simGPU, other nvml.Device) (nvml.GpuTopologyLevel, nvml.Return) {
	if other == nil {
		return 0, nvml.ERROR_INVALID_ARGUMENT
	}
	o, ok := n.byHandle[other]
	if !ok {
		return 0, nvml.ERROR_INVALID_ARGUMENT
	}
	switch {
	case o == g:
		return nvml.TOPOLOGY_INTERNAL, nvml.SUCCESS
	case o.spec.PCIeRoot == g.spec.PCIeRoot:
		return nvml.TOPOLOGY_HOSTBRIDGE, nvml.SUCCESS
	case o.spec.NUMANode == g.spec.NUMANode:
		return nvml.TOPOLOGY_NODE, nvml.SUCCESS
	default:
		return nvml.TOPOLOGY_SYSTEM, nvml.SUCCESS
	}
}
