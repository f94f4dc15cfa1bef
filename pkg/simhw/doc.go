// Package simhw is hadron's simulated hardware: one machine description
// drives both a simulated NVML library and a fake sysfs tree, so that the
// real driver and scheduler code can run on top of a node that does not
// exist, and the two views of that node can never disagree.
//
// # Machines
//
// A Machine is decoded from YAML (or JSON) with Parse or Load; Builtin lists
// the machines shipped with the package (machines/*.yaml, embedded):
//
//   - dgxa100: 2x AMD EPYC 7742 (64 cores, SMT2, 4 cores per L3) in NPS4
//     mode, so 8 NUMA nodes; 1 TiB; 8x A100 SXM4 40GB in pairs on NUMA
//     nodes 3, 1, 7, 5, each with a 200 Gb/s HDR InfiniBand ConnectX-6
//     behind its PCIe switch; 2 dual-port ConnectX-6 (200 Gb/s Ethernet)
//     for storage.
//   - dgxh100: 2x Xeon Platinum 8480C (56 cores, SMT2, one L3 per socket),
//     2 NUMA nodes; 2 TiB; 8x H100 SXM5 80GB, 4 per socket, each on its own
//     host bridge with a 400 Gb/s NDR InfiniBand ConnectX-7 behind its PCIe
//     switch; 2 dual-port ConnectX-7 (200 Gb/s Ethernet) for storage, one
//     per socket.
//   - dgxh200, dgxb200: the dgxh100 layout with H200 141GB / B200 GPUs; the
//     dgxb200 has Xeon Platinum 8570s and 2 dual-port BlueField-3 (400 Gb/s
//     Ethernet) for storage.
//   - workstation: 1x Threadripper PRO (16 cores, SMT2, 8 cores per L3), 1
//     NUMA node; 256 GiB; 2x A100 PCIe 40GB on two host bridges; one Intel
//     I225 2.5 GbE port without RDMA.
//
// The format, field by field (machines/example/custom.yaml is a commented,
// complete example; unknown fields are errors):
//
//	name: dgxh100              # required; also the default NVML seed
//	description: free text     # optional
//	base: dgxh100              # optional: dgxa100 | dgxh100 | dgxh200 | dgxb200
//	driverVersion: 550.54.15   # optional: overrides the mock's driver version
//	cpu:
//	  sockets: 2               # default 1
//	  numaNodesPerSocket: 1    # default 1; must divide coresPerSocket
//	  coresPerSocket: 56       # required
//	  threadsPerCore: 2        # default 1
//	  memoryGiB: 2048          # required; split evenly over NUMA nodes
//	  model: Intel(R) Xeon(R) Platinum 8480C   # optional; sets cache sizes
//	  coresPerL3: 56           # optional; default: the cores of a NUMA node
//	gpus:                      # NVML index order
//	  - model: h100-sxm5-80gb  # required without base; see Models
//	    pciBusID: "0000:1b:00.0"   # sysfs form, lower-case, unique
//	    pcieRoot: "pci0000:15"     # host bridge; same domain, lower bus
//	    numaNode: 0            # < sockets*numaNodesPerSocket
//	    idlePowerWatts: 70     # <= maxPowerWatts
//	    maxPowerWatts: 700
//	nics:                      # optional; one entry per PCI function
//	  - model: ConnectX-7      # ConnectX-6 | ConnectX-7 | BlueField-3 | I225
//	    pciBusID: "0000:18:00.0"   # as for GPUs; unique across GPUs and NICs
//	    pcieRoot: "pci0000:15"
//	    numaNode: 0
//	    interface: ibp24s0     # netdev name, unique, at most 15 characters
//	    linkLayer: InfiniBand  # InfiniBand | Ethernet (RoCE) | none
//	    speedGbps: 400         # Mb/s-exact; an IB rate for RDMA NICs
//	    pairedGPU: 0           # optional: behind that GPU's PCIe switch
//
// With a base, the GPU model and driver/NVML/CUDA versions come from that
// go-nvml mock machine (github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgx*).
// Without one, each GPU names a model of go-nvml's mock catalogue (Models:
// a100-sxm4-40gb, a100-sxm4-80gb, a100-pcie-40gb, a100-pcie-80gb,
// a30-pcie-24gb, h100-sxm5-80gb, h200-sxm5-141gb, b200-sxm5-180gb, plus
// the older p100-pcie-16gb, t4-pcie-16gb, v100-sxm2-16gb, v100-sxm2-32gb
// and a10-pcie-24gb, which have no MIG) and the versions come from the
// newest GPU family present.
//
// Validate names every bad field in one error (a *ValidationError) and
// also checks what crosses fields: duplicate bus IDs and interface names,
// NUMA nodes outside the CPU topology, a bus outside its host bridge's bus
// range, devices of one host bridge on different NUMA nodes, idle power
// above max power, an L3 group that does not divide a NUMA node, a NIC
// paired with a GPU on another host bridge or NUMA node, bus numbers that
// leave no room for the PCIe switch a GPU shares with its NICs, a link
// speed its NIC model cannot reach or InfiniBand cannot express.
//
// NICs with a link layer get RDMA devices numbered in list order among
// them (mlx5_0, mlx5_1, ...; uverbs0, ...), as the kernel numbers them in
// PCI order; list them in PCI order to match a real machine.
//
// # CPU numbering
//
// Logical CPUs follow the Linux x86 convention: thread 0 of every core of
// every socket first, then the second threads in the same order (cpuN and
// cpuN+cores are siblings); a NUMA node's cores are contiguous. So the
// dgxh100's node 0 is CPUs 0-55,112-167.
//
// # NVML
//
// Machine.NewNVML (or NewSimulatedNVML for the concrete *NVML) builds an
// nvml.Interface on go-nvml's mock server, completed with the machine's
// PCI addresses, NUMA nodes, seed-derived UUIDs and serials, power and
// utilisation (NVML.SetUtilization), affinity and topology. Unsimulated
// calls answer ERROR_NOT_SUPPORTED rather than panic. The NVML is safe for
// concurrent use.
//
// MIG follows the hardware's rules rather than the mock's. GPUs boot with
// MIG mode disabled (Device.SetMigMode or NVML.SetMIGMode change it at
// once; disabling fails with ERROR_IN_USE while GPU instances exist), and
// instance calls answer ERROR_NOT_SUPPORTED without it. A GPU instance
// must use one of its profile's possible placements (ERROR_INVALID_ARGUMENT)
// and fit: memory slices [Start, Start+Size) free, compute slices and the
// profile's instance count not exceeded (ERROR_INSUFFICIENT_RESOURCES);
// CreateGpuInstance picks the first placement that fits. Instance IDs are
// the lowest free. Compute instances obey the same rules inside their GPU
// instance, which cannot be destroyed while it has some (ERROR_IN_USE).
// Each compute instance is a MIG device (GetMigDeviceHandleByIndex, also by
// UUID), whose UUID derives from the parent's and the instance IDs, so
// the same layout on the same seed always yields the same MIG UUIDs.
//
// Health events work as with NVML: EventSetCreate, Device.RegisterEvents
// for XID and single/double-bit ECC events, EventSet.Wait with its
// timeout. NVML.InjectXID, InjectMIGXID and InjectECCError raise them;
// injection never blocks.
//
// # sysfs
//
// Machine.WriteSysfs writes root/sys/... (and root/proc/cpuinfo, meminfo)
// matching the machine: CPUs with their topology and caches (L2 per core,
// L3 per group of cpu.coresPerL3 cores, sizes from the CPU model), NUMA
// nodes, and the PCI tree with every GPU and NIC behind its root port (and
// PCIe switch), as Linux lays it out. NICs have their netdev
// (sys/class/net) and, with RDMA, their InfiniBand and user verbs devices
// (sys/class/infiniband, sys/class/infiniband_verbs) and the rdma_cm
// device. Point deviceattribute at the sys directory
// (deviceattribute.WithFSFromRoot(filepath.Join(root, "sys"))) and ghw at
// root as its chroot.
package simhw
