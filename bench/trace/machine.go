package trace

import (
	"fmt"
	"math"

	"github.com/hadron-sched/hadron/pkg/simhw"
)

// How a trace node becomes a machine. The traces give only CPU, memory
// and GPU counts; everything else here is a stated assumption (see
// machineNotes), chosen to resemble the dual-socket PCIe GPU servers such
// clusters run.
const (
	threadsPerCore = 2
	// twoSocketCPUs: nodes with at least this many logical CPUs get two
	// sockets.
	twoSocketCPUs = 64
	// Package power, from the range the published power model gives for
	// these traces (15-20 W idle, 120-270 W full per CPU package), scaled
	// linearly with the package's cores between smallPackageCores and
	// largePackageCores.
	packageIdleMinWatts, packageIdleMaxWatts = 15, 20
	packageMaxMinWatts, packageMaxMaxWatts   = 120, 270
	smallPackageCores, largePackageCores     = 4, 32
	// rootsPerDomain host bridges share one PCI domain, rootBusStride bus
	// numbers apart; further roots open the next domain.
	rootsPerDomain = 8
	rootBusStride  = 0x20
	// Within a root the pair's GPUs sit on buses +3 and +11, leaving room
	// for the PCIe switch (two buses) that a paired NIC shares with the
	// first GPU, on bus +4.
	firstGPUBus, secondGPUBus, nicBus = 3, 11, 4
	// The RDMA NIC: RoCE on a ConnectX-6 at 100 Gb/s.
	nicModel     = "ConnectX-6"
	nicLinkLayer = "Ethernet"
	nicSpeedGbps = 100
	// minRDMAGPUs: nodes with fewer GPUs get no RDMA NIC (nothing to
	// communicate with across nodes at GPU speed).
	minRDMAGPUs = 2
)

// machineNotes state the synthesis choices BuildMachine makes, one a line.
func machineNotes() []string {
	return []string{
		"GPU models: P100 -> p100-pcie-16gb, T4 -> t4-pcie-16gb, V100M16 -> v100-sxm2-16gb, V100M32 -> v100-sxm2-32gb, A10 -> a10-pcie-24gb (pkg/simhw models)",
		"assumption: G2 (anonymised in the trace) is simulated as an A10 (a10-pcie-24gb) and G3 as an A100 PCIe 40GB (a100-pcie-40gb), as the published power model for these traces prices them",
		"GPU power per GPU, idle/max: T4 10/70 W, A10 and G2 30/150 W, P100 25/250 W, V100 30/300 W, G3 50/400 W (the binary model of the PWR+FGD follow-up, CCGrid'25)",
		fmt.Sprintf("CPUs: cpu_milli/1000 logical CPUs (rounded up to whole cores per socket), %d threads per core, 2 sockets from %d logical CPUs up else 1, one NUMA node per socket", threadsPerCore, twoSocketCPUs),
		fmt.Sprintf("CPU package power: idle %d-%d W and max %d-%d W, linear in the package's cores from %d to %d cores (clamped)", packageIdleMinWatts, packageIdleMaxWatts, packageMaxMinWatts, packageMaxMaxWatts, smallPackageCores, largePackageCores),
		"memory: memory_mib rounded up to whole GiB, split evenly over the NUMA nodes",
		"GPUs: split evenly over the NUMA nodes in index order (the first half on node 0), one PCIe root complex per pair of GPUs within a NUMA node",
		fmt.Sprintf("RDMA: on nodes with >= %d GPUs, one %s (RoCE, %d Gb/s) per NUMA node that has GPUs, behind the PCIe switch of that node's first GPU; CPU-only and one-GPU nodes have none", minRDMAGPUs, nicModel, nicSpeedGbps),
		"PCI addresses and interface names follow from the GPU and root indices, so every node's machine is deterministic",
	}
}

// BuildMachine returns the simulated hardware of a trace node (see
// machineNotes for how). The machine passes simhw validation, so it can
// drive simhw.NewNVML and WriteSysfs.
func BuildMachine(n Node) (*simhw.Machine, error) {
	if col, detail := n.check(); col != "" {
		return nil, fmt.Errorf("build machine of node %q (line %d): column %s: %s", n.Name, n.Line, col, detail)
	}
	m := &simhw.Machine{
		Name: n.Name,
		CPU:  cpuTopology(n),
	}
	if n.GPUs > 0 {
		class := gpuClasses[n.Model]
		m.Description = fmt.Sprintf("openb trace node %s: %dx %s (simulated as %s)", n.Name, n.GPUs, n.Model, class.simhw)
		m.GPUs, m.NICs = gpuLayout(n.GPUs, m.NUMANodes(), class)
	} else {
		m.Description = fmt.Sprintf("openb trace node %s: CPU only", n.Name)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("build machine of node %q (line %d): %w", n.Name, n.Line, err)
	}
	return m, nil
}

// cpuTopology lays out a node's logical CPUs.
func cpuTopology(n Node) simhw.CPUTopology {
	logical := int((n.CPUMilli + 999) / 1000)
	sockets := 1
	if logical >= twoSocketCPUs {
		sockets = 2
	}
	perSocket := sockets * threadsPerCore
	cores := (logical + perSocket - 1) / perSocket
	f := float64(cores-smallPackageCores) / float64(largePackageCores-smallPackageCores)
	f = math.Max(0, math.Min(1, f))
	return simhw.CPUTopology{
		Sockets:            sockets,
		NUMANodesPerSocket: 1,
		CoresPerSocket:     cores,
		ThreadsPerCore:     threadsPerCore,
		MemoryGiB:          int((n.MemoryMiB + 1023) / 1024),
		PackageIdleWatts:   int(math.Round(packageIdleMinWatts + f*(packageIdleMaxWatts-packageIdleMinWatts))),
		PackageMaxWatts:    int(math.Round(packageMaxMinWatts + f*(packageMaxMaxWatts-packageMaxMinWatts))),
	}
}

// machineCPUs is the number of logical CPUs cpuTopology gives a node,
// which exceeds cpu_milli/1000 when that does not fill whole cores.
func machineCPUs(c simhw.CPUTopology) int {
	return c.Sockets * c.CoresPerSocket * c.ThreadsPerCore
}

// gpuLayout places count GPUs of one class over numa NUMA nodes, and the
// RDMA NICs that go with them.
func gpuLayout(count, numa int, class gpuClass) ([]simhw.GPU, []simhw.NIC) {
	gpus := make([]simhw.GPU, 0, count)
	var nics []simhw.NIC
	root := -1
	local := 0 // index of the GPU within its NUMA node
	for i := range count {
		node := i * numa / count
		if i > 0 && node != (i-1)*numa/count {
			local = 0
		}
		if local%2 == 0 {
			root++
		}
		domain, base := root/rootsPerDomain, root%rootsPerDomain*rootBusStride
		rootName := fmt.Sprintf("pci%04x:%02x", domain, base)
		bus := base + firstGPUBus
		if local%2 == 1 {
			bus = base + secondGPUBus
		}
		gpus = append(gpus, simhw.GPU{
			Model:          class.simhw,
			PCIBusID:       fmt.Sprintf("%04x:%02x:00.0", domain, bus),
			PCIeRoot:       rootName,
			NUMANode:       node,
			IdlePowerWatts: class.idleWatts,
			MaxPowerWatts:  class.maxWatts,
		})
		if local == 0 && count >= minRDMAGPUs {
			paired := i
			nics = append(nics, simhw.NIC{
				Model:     nicModel,
				PCIBusID:  fmt.Sprintf("%04x:%02x:00.0", domain, base+nicBus),
				PCIeRoot:  rootName,
				NUMANode:  node,
				Interface: ifname(domain, base+nicBus),
				LinkLayer: nicLinkLayer,
				SpeedGbps: nicSpeedGbps,
				PairedGPU: &paired,
			})
		}
		local++
	}
	return gpus, nics
}

// ifname is the predictable network interface name of function 0 of a
// ConnectX port on domain:bus (systemd's enp<bus>s0f0np0, with a P<domain>
// prefix outside domain 0).
func ifname(domain, bus int) string {
	if domain == 0 {
		return fmt.Sprintf("enp%ds0f0np0", bus)
	}
	return fmt.Sprintf("enP%dp%ds0f0np0", domain, bus)
}
