package simhw

// Machine is the description of one simulated node's hardware. It is
// decoded from YAML or JSON (see Parse) and drives both the simulated NVML
// (NewNVML) and the fake sysfs tree (WriteSysfs), so that the two views of
// the node can never disagree.
type Machine struct {
	// Name identifies the machine; it is also the default NVML seed.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Base names the go-nvml mock machine the GPUs come from ("dgxa100",
	// "dgxh100", "dgxh200", "dgxb200"); it fixes the GPU model and the
	// driver/CUDA versions. Leave it empty to compose the GPUs from
	// GPU.Model instead.
	Base string `json:"base,omitempty"`
	// DriverVersion overrides the mock's driver version (e.g. "550.54.15").
	DriverVersion string      `json:"driverVersion,omitempty"`
	CPU           CPUTopology `json:"cpu"`
	GPUs          []GPU       `json:"gpus"`
	// NICs are the network adapter functions (one entry per PCI function,
	// so a dual-port card is two entries), in the order their RDMA devices
	// are numbered.
	NICs []NIC `json:"nics,omitempty"`
}

// CPUTopology describes the host processors and memory. All sockets are
// identical and every socket is split into the same number of NUMA nodes,
// which is how the x86 servers this package models are built.
type CPUTopology struct {
	Sockets            int `json:"sockets"`
	NUMANodesPerSocket int `json:"numaNodesPerSocket"`
	CoresPerSocket     int `json:"coresPerSocket"`
	ThreadsPerCore     int `json:"threadsPerCore"`
	// MemoryGiB is the whole machine's memory, split evenly over the NUMA
	// nodes.
	MemoryGiB int    `json:"memoryGiB"`
	Model     string `json:"model,omitempty"`
	// CoresPerL3 is how many physical cores share one L3 cache (an Intel
	// socket, an AMD CCX or CCD). Zero means one L3 per NUMA node; it must
	// divide the cores of a NUMA node, so that no L3 spans two nodes.
	CoresPerL3 int `json:"coresPerL3,omitempty"`
	// PackageIdleWatts and PackageMaxWatts model one processor package's
	// power: what it draws with its cores idle and its TDP. They are
	// published on the CPU devices so that placement can prefer packages
	// that are already awake; zero leaves them unpublished.
	PackageIdleWatts int `json:"packageIdleWatts,omitempty"`
	PackageMaxWatts  int `json:"packageMaxWatts,omitempty"`
}

// GPU describes one GPU and where it sits in the machine. GPUs are indexed
// (NVML index, minor number) in the order they are listed.
type GPU struct {
	// Model is a go-nvml mock GPU model (see Models); it is required when
	// Machine.Base is empty and must be empty or equal to the base's model
	// otherwise.
	Model string `json:"model,omitempty"`
	// PCIBusID is the GPU's PCI address in Linux sysfs form,
	// "0000:18:00.0" (domain:bus:device.function, lower-case hex).
	PCIBusID string `json:"pciBusID"`
	NUMANode int    `json:"numaNode"`
	// PCIeRoot is the host bridge (root complex) the GPU hangs under, as
	// named in sysfs: "pci0000:15" for /sys/devices/pci0000:15/...
	PCIeRoot       string `json:"pcieRoot"`
	IdlePowerWatts int    `json:"idlePowerWatts"`
	MaxPowerWatts  int    `json:"maxPowerWatts"`
}

// NUMANodes returns the number of NUMA nodes of the machine.
func (m *Machine) NUMANodes() int {
	return m.CPU.Sockets * m.CPU.NUMANodesPerSocket
}

// cores returns the number of physical cores of the machine.
func (c *CPUTopology) cores() int {
	return c.Sockets * c.CoresPerSocket
}

// cpus returns the number of logical CPUs (hardware threads).
func (c *CPUTopology) cpus() int {
	return c.cores() * c.ThreadsPerCore
}

// coresPerNode returns the number of physical cores of one NUMA node.
func (c *CPUTopology) coresPerNode() int {
	return c.CoresPerSocket / c.NUMANodesPerSocket
}

// l3Cores returns the number of physical cores sharing one L3 cache.
func (c *CPUTopology) l3Cores() int {
	if c.CoresPerL3 > 0 {
		return c.CoresPerL3
	}
	return c.coresPerNode()
}

// logicalCPU describes where one logical CPU sits. It follows the Linux x86
// enumeration: first thread 0 of every core of every socket, then the
// second hardware thread of each core in the same order, so that cpuN and
// cpuN+cores() are siblings, and a NUMA node's cores are contiguous.
type logicalCPU struct {
	ID      int
	Socket  int
	Node    int
	Core    int // core index within the socket, used as core_id
	Thread  int
	CoreSeq int // machine-wide core index (socket*coresPerSocket + Core)
}

// logicalCPUs enumerates every logical CPU of a validated topology.
func (c *CPUTopology) logicalCPUs() []logicalCPU {
	cores := c.cores()
	perNode := c.coresPerNode()
	out := make([]logicalCPU, 0, c.cpus())
	for t := 0; t < c.ThreadsPerCore; t++ {
		for seq := 0; seq < cores; seq++ {
			socket := seq / c.CoresPerSocket
			core := seq % c.CoresPerSocket
			out = append(out, logicalCPU{
				ID:      t*cores + seq,
				Socket:  socket,
				Node:    socket*c.NUMANodesPerSocket + core/perNode,
				Core:    core,
				Thread:  t,
				CoreSeq: seq,
			})
		}
	}
	return out
}

// nodeCPUs returns the logical CPU ids of NUMA node n, ascending.
func (c *CPUTopology) nodeCPUs(n int) []int {
	var ids []int
	for _, l := range c.logicalCPUs() {
		if l.Node == n {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

// socketOfNode returns the socket a NUMA node belongs to.
func (c *CPUTopology) socketOfNode(n int) int {
	return n / c.NUMANodesPerSocket
}

// nodeMemoryKiB returns the memory of NUMA node n in KiB. The remainder of
// an uneven split goes to the last node so that the nodes add up to the
// machine's total.
func (c *CPUTopology) nodeMemoryKiB(n int) int64 {
	nodes := int64(c.Sockets * c.NUMANodesPerSocket)
	total := int64(c.MemoryGiB) * 1024 * 1024
	per := total / nodes
	if int64(n) == nodes-1 {
		return total - per*(nodes-1)
	}
	return per
}

// clone returns a deep copy so that simulations keep their own description
// even if the caller later edits the Machine.
func (m *Machine) clone() *Machine {
	c := *m
	c.GPUs = append([]GPU(nil), m.GPUs...)
	c.NICs = append([]NIC(nil), m.NICs...)
	for i, n := range c.NICs {
		if n.PairedGPU != nil {
			g := *n.PairedGPU
			c.NICs[i].PairedGPU = &g
		}
	}
	return &c
}
