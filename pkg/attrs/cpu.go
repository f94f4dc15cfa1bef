package attrs

import resourceapi "k8s.io/api/resource/v1"

// CPU driver attributes and capacity. One device per NUMA node offers that
// node's exclusive CPUs as consumable capacity; the standard numaNode
// attribute aligns it with GPUs and NICs.
const (
	// CPUSocket is the physical package (socket) the NUMA node belongs to.
	CPUSocket resourceapi.QualifiedName = CPUDriver + "/socket"
	// CPUSMT says whether the cores run more than one hardware thread.
	CPUSMT resourceapi.QualifiedName = CPUDriver + "/smt"
	// CPUThreadsPerCore is the number of hardware threads per core.
	CPUThreadsPerCore resourceapi.QualifiedName = CPUDriver + "/threadsPerCore"
	// CPUCores is the number of physical cores the device offers (reserved
	// cores left out).
	CPUCores resourceapi.QualifiedName = CPUDriver + "/cores"
	// CPUL3Groups is the number of L3 cache groups among the offered CPUs.
	CPUL3Groups resourceapi.QualifiedName = CPUDriver + "/l3Groups"
	// CPUModel is the processor model name.
	CPUModel resourceapi.QualifiedName = CPUDriver + "/model"
	// CPUPackageIdleWatts and CPUPackageMaxWatts model the power of the
	// socket the device sits in, for placement that avoids waking an idle
	// package; absent when unknown.
	CPUPackageIdleWatts resourceapi.QualifiedName = CPUDriver + "/packageIdleWatts"
	CPUPackageMaxWatts  resourceapi.QualifiedName = CPUDriver + "/packageMaxWatts"
)

// CPUs is the consumable capacity of a CPU device: logical CPUs (hardware
// threads) handed out exclusively.
const CPUs resourceapi.QualifiedName = CPUDriver + "/cpus"
