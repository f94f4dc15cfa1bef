// Package topology discovers a host's processor, memory and PCI layout —
// sockets, NUMA nodes with their distances, cores and hardware threads, L3
// cache groups, GPUs and network adapters with their NUMA node and PCIe
// root — from sysfs (with ghw), on the real host or under any root
// directory: the fake trees of hadron's simulated machines, or snapshots
// captured from real machines.
//
// Discovery never fails on odd or missing files: what cannot be read is
// left out (or marked unknown) and reported as a Warning naming the file,
// because a node plugin that crashes on one strange sysfs attribute helps
// nobody.
package topology

import (
	"fmt"

	"k8s.io/utils/cpuset"
)

// Unknown marks a NUMA node, socket, core or cache id that sysfs does not
// report (for example numa_node = -1 on single-node machines).
const Unknown = -1

// Topology is one host's layout.
type Topology struct {
	// Root is the directory sysfs was read under ("/" on a real host).
	Root string
	// CPUModel is the processor model name from /proc/cpuinfo, if known.
	CPUModel string
	// Sockets are the physical packages, ascending by id.
	Sockets []Socket
	// Nodes are the NUMA nodes, ascending by id. A machine without NUMA
	// information has one node 0 holding every CPU.
	Nodes []NUMANode
	// CPUs are the online logical CPUs, ascending by id. Offline CPUs are
	// not listed (and not offered by any driver).
	CPUs []CPU
	// GPUs and NICs are the PCI devices the drivers care about.
	GPUs []PCIDevice
	NICs []NIC
	// Warnings lists what could not be read; discovery went on without it.
	Warnings []Warning
}

// Socket is one physical processor package.
type Socket struct {
	ID   int
	CPUs cpuset.CPUSet
	// Nodes are the NUMA nodes whose CPUs sit in this package.
	Nodes []int
}

// NUMANode is one NUMA node.
type NUMANode struct {
	ID   int
	CPUs cpuset.CPUSet
	// MemoryBytes is the node's total memory (0 when unknown).
	MemoryBytes int64
	// Distances is the SLIT row of the node: Distances[other node id];
	// empty when sysfs has no distance file.
	Distances map[int]int
}

// CPU is one online logical CPU (hardware thread).
type CPU struct {
	ID int
	// Socket is the physical package id (Unknown if not reported).
	Socket int
	// Core is the core id within the package; (Socket, Core) identifies a
	// physical core. Use CoreKey to compare cores.
	Core int
	// Node is the NUMA node (Unknown if none).
	Node int
	// L3 is the id of the last-level (L3) cache the CPU shares; CPUs with
	// the same L3 form one cache group. Unknown when sysfs has no cache
	// information.
	L3 int
	// Siblings are the hardware threads of the same core, itself included.
	Siblings cpuset.CPUSet
}

// CoreKey identifies one physical core across the machine.
type CoreKey struct{ Socket, Core int }

// CoreKey returns the physical core the CPU belongs to.
func (c CPU) CoreKey() CoreKey { return CoreKey{c.Socket, c.Core} }

// PCIDevice is a PCI function with its place in the machine.
type PCIDevice struct {
	// Address is the sysfs PCI address, "0000:1b:00.0".
	Address string
	Vendor  uint16
	Device  uint16
	Class   uint32
	// VendorName and ProductName come from the PCI database when known.
	VendorName  string
	ProductName string
	// NUMANode is Unknown when the device reports no affinity.
	NUMANode int
	// PCIeRoot is the host bridge, "pci0000:15", as the standard
	// resource.kubernetes.io/pcieRoot attribute names it.
	PCIeRoot string
	// Driver is the bound kernel driver ("nvidia", "mlx5_core"), if any.
	Driver string
}

// LinkLayer is how an RDMA port talks to the network.
type LinkLayer string

const (
	LinkLayerInfiniBand LinkLayer = "InfiniBand"
	LinkLayerEthernet   LinkLayer = "Ethernet"
)

// NIC is a network adapter function: its netdev and, when it can do
// RDMA, its InfiniBand/RoCE device.
type NIC struct {
	PCIDevice
	// Interface is the netdev name ("ens1f0np0", "ib0"); empty when the
	// function has no network interface.
	Interface string
	// MAC is the interface's hardware address, if any.
	MAC string
	// SpeedMbps is the link speed in Mb/s (0 when down or unknown).
	SpeedMbps int64
	// RDMA is nil when the function has no RDMA device.
	RDMA *RDMADevice
}

// RDMADevice is the RDMA side of a NIC.
type RDMADevice struct {
	// Name is the RDMA device ("mlx5_0").
	Name string
	// LinkLayer of its first port.
	LinkLayer LinkLayer
	// RateGbps is the first port's rate in Gb/s (0 when unknown).
	RateGbps int64
	// Uverbs is the user verbs device ("uverbs0", /dev/infiniband/uverbs0);
	// empty when the kernel exposes none.
	Uverbs string
}

// Warning is something discovery could not read and went on without.
type Warning struct {
	// Path is the file or directory, relative to the root ("sys/...").
	Path string
	// Message says what was wrong and what discovery did about it.
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("%s: %s", w.Path, w.Message) }
