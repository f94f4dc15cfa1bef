package simhw

import (
	"fmt"
	"slices"
)

// Where the kernel exposes network and RDMA devices, and the numbers it
// gives them: user verbs devices are character devices 231:192+N
// (IB_UVERBS_BASE_MINOR), rdma_cm is misc device 10:58 on common kernels,
// and the verbs ABI the uverbs class reports is 6. The loopback interface
// holds ifindex 1, so NICs count from 2.
const (
	netClassDir      = "sys/class/net"
	ibClassDir       = "sys/class/infiniband"
	verbsClassDir    = "sys/class/infiniband_verbs"
	rdmaCMDir        = "sys/devices/virtual/misc/rdma_cm"
	uverbsMajor      = 231
	uverbsBaseMinor  = 192
	rdmaCMDev        = "10:58"
	verbsABIVersion  = "6"
	uverbsABIVersion = "1" // the mlx5 provider's user ABI
	firstNICIfindex  = 2
)

// Netdev attributes: ARPHRD_INFINIBAND (32) and ARPHRD_ETHER (1), and the
// default MTUs: IPoIB datagram mode on a 4K IB MTU fabric, and Ethernet.
const (
	arphrdInfiniBand = 32
	arphrdEther      = 1
	mtuIPoIB         = 4092
	mtuEthernet      = 1500
)

// writeNIC writes what hangs below NIC function f: the driver binding, the
// netdev, and (for rdma >= 0) the mlx5_<rdma> and uverbs<rdma> devices,
// each with the sys/class link that readers start from. Only the
// attributes topology and RDMA readers use are written (NCCL, rdma-core,
// ghw, hadron's own discovery), because file creation dominates the cost
// of writing a tree.
func (m *Machine) writeNIC(w *treeWriter, f pciFunction, rdma int) error {
	n := &m.NICs[f.nic]
	model := nicModels[n.Model]
	id := f.addr.sysfs()

	netdev := f.dir + "/net/" + n.Interface
	typ, mtu := arphrdEther, mtuEthernet
	if n.LinkLayer == linkLayerInfiniBand {
		typ, mtu = arphrdInfiniBand, mtuIPoIB
	}
	// addr_assign_type 0 is a permanent address, the only kind ghw reports.
	if err := w.attrs(netdev, []attr{
		{"address", m.netdevAddress(f.nic)},
		{"addr_assign_type", "0"},
		{"type", fmt.Sprint(typ)},
		{"mtu", fmt.Sprint(mtu)},
		{"ifindex", fmt.Sprint(firstNICIfindex + f.nic)},
		{"speed", fmt.Sprint(n.speedMbps())},
		{"duplex", "full"},
		{"operstate", "up"},
		{"carrier", "1"},
	}); err != nil {
		return err
	}
	links := []symlink{
		{f.dir + "/driver", "sys/bus/pci/drivers/" + model.driver},
		{"sys/bus/pci/drivers/" + model.driver + "/" + id, f.dir},
		{netdev + "/device", f.dir},
		{netdev + "/subsystem", netClassDir},
		{netClassDir + "/" + n.Interface, netdev},
	}
	if rdma >= 0 {
		ibName := fmt.Sprintf("mlx5_%d", rdma)
		uverbs := fmt.Sprintf("uverbs%d", rdma)
		rate, _ := rdmaRate(n.SpeedGbps) // validated
		ib := f.dir + "/infiniband/" + ibName
		if err := w.attrs(ib, []attr{
			{"node_type", "1: CA"},
			{"node_guid", formatGUID(m.nicGUID(f.nic))},
			{"ports/1/link_layer", n.LinkLayer},
			{"ports/1/rate", rate},
			{"ports/1/state", "4: ACTIVE"},
			{"ports/1/phys_state", "5: LinkUp"},
		}); err != nil {
			return err
		}
		uv := f.dir + "/infiniband_verbs/" + uverbs
		if err := w.attrs(uv, []attr{
			{"ibdev", ibName},
			{"dev", fmt.Sprintf("%d:%d", uverbsMajor, uverbsBaseMinor+rdma)},
			{"abi_version", uverbsABIVersion},
		}); err != nil {
			return err
		}
		links = append(links, []symlink{
			{ib + "/device", f.dir},
			{ibClassDir + "/" + ibName, ib},
			{uv + "/device", f.dir},
			{verbsClassDir + "/" + uverbs, uv},
		}...)
	}
	return w.links(links)
}

// writeRDMAClasses writes the RDMA files that belong to no one adapter: the
// verbs ABI version and the connection manager device, present as soon as
// the RDMA modules are loaded, i.e. when the machine has an RDMA NIC.
func (m *Machine) writeRDMAClasses(w *treeWriter) error {
	if !slices.ContainsFunc(m.NICs, func(n NIC) bool { return n.rdma() }) {
		return nil
	}
	if err := w.file(verbsClassDir+"/abi_version", verbsABIVersion); err != nil {
		return err
	}
	if err := w.file(rdmaCMDir+"/dev", rdmaCMDev); err != nil {
		return err
	}
	return w.link("sys/class/misc/rdma_cm", rdmaCMDir)
}
