package simhw

import (
	"fmt"
	"math"
	"net"
)

// NIC describes one network adapter PCI function and where it sits. A
// dual-port card is two entries, functions 0 and 1 of one bus.
type NIC struct {
	// Model is the adapter (see NICModels): "ConnectX-7", "I225", ...
	Model string `json:"model"`
	// PCIBusID and PCIeRoot are as for GPUs: "0000:18:00.0" under
	// "pci0000:15".
	PCIBusID string `json:"pciBusID"`
	PCIeRoot string `json:"pcieRoot"`
	NUMANode int    `json:"numaNode"`
	// Interface is the netdev name, "ibp24s0" or "enp170s0f0np0".
	Interface string `json:"interface"`
	// LinkLayer is the RDMA link layer: "InfiniBand", "Ethernet" (RoCE),
	// or "none" (or empty) for a NIC without RDMA.
	LinkLayer string `json:"linkLayer,omitempty"`
	// SpeedGbps is the link speed; fractions are for 2.5GbE and the like.
	SpeedGbps float64 `json:"speedGbps"`
	// PairedGPU is the index of the GPU whose PCIe switch the NIC sits
	// behind, as GPUDirect RDMA pairs sit on DGX/HGX boards; nil for a NIC
	// on a root port of its own.
	PairedGPU *int `json:"pairedGPU,omitempty"`
}

// Link layers accepted in NIC.LinkLayer, spelt as the kernel writes
// .../infiniband/<dev>/ports/N/link_layer.
const (
	linkLayerInfiniBand = "InfiniBand"
	linkLayerEthernet   = "Ethernet"
	linkLayerNone       = "none"
)

// rdma reports whether the NIC has an RDMA device (mlx5_N, uverbsN).
func (n *NIC) rdma() bool {
	return n.LinkLayer == linkLayerInfiniBand || n.LinkLayer == linkLayerEthernet
}

// PCI identifiers and drivers of the modelled adapters.
const (
	vendorMellanox = 0x15b3
	classEthernet  = 0x020000
	classIB        = 0x020700
)

// nicModel is what sysfs shows of one adapter model.
type nicModel struct {
	vendor, device uint16
	driver         string
	// rdma: the adapter can do RDMA at all (InfiniBand or RoCE).
	rdma bool
	// infiniBand: its ports can run InfiniBand link layer (VPI adapters).
	infiniBand bool
	maxGbps    float64
	pcieGen    int
	pcieWidth  int
}

// nicModels maps NIC.Model to its PCI identity (the Linux pci.ids
// database), its driver and its product-brief limits.
var nicModels = map[string]nicModel{
	// MT28908: HDR 200 Gb/s, PCIe Gen4 x16.
	"ConnectX-6": {vendor: vendorMellanox, device: 0x101b, driver: "mlx5_core", rdma: true, infiniBand: true, maxGbps: 200, pcieGen: 4, pcieWidth: 16},
	// MT2910: NDR 400 Gb/s, PCIe Gen5 x16.
	"ConnectX-7": {vendor: vendorMellanox, device: 0x1021, driver: "mlx5_core", rdma: true, infiniBand: true, maxGbps: 400, pcieGen: 5, pcieWidth: 16},
	// MT43244, the BlueField-3 DPU's integrated ConnectX-7: 400 Gb/s,
	// PCIe Gen5 x16.
	"BlueField-3": {vendor: vendorMellanox, device: 0xa2dc, driver: "mlx5_core", rdma: true, infiniBand: true, maxGbps: 400, pcieGen: 5, pcieWidth: 16},
	// Ethernet Controller I225-V: 2.5GbE, PCIe Gen2 x1, no RDMA.
	"I225": {vendor: vendorIntel, device: 0x15f3, driver: "igc", maxGbps: 2.5, pcieGen: 2, pcieWidth: 1},
}

// NICModels returns the sorted names accepted in NIC.Model.
func NICModels() []string {
	return sortedKeys(nicModels)
}

// pairedIndex is PairedGPU, or -1 for a NIC on a root port of its own.
func (n *NIC) pairedIndex() int {
	if n.PairedGPU == nil {
		return -1
	}
	return *n.PairedGPU
}

// class returns the PCI class the adapter reports: ConnectX ports set to
// InfiniBand enumerate as InfiniBand controllers, all else as Ethernet.
func (n *NIC) class() uint32 {
	if n.LinkLayer == linkLayerInfiniBand {
		return classIB
	}
	return classEthernet
}

// speedMbps is the netdev speed file's value.
func (n *NIC) speedMbps() int64 {
	return int64(math.Round(n.SpeedGbps * 1000))
}

// InfiniBand lane speeds (per-lane Gb/s in tenths) and link widths, as the
// kernel's rate attribute names them; RoCE ports report their Ethernet
// speed in the same terms. Widths are tried in this order so that the
// common 4X wins where two widths give one rate.
var (
	ibLanes = []struct {
		name   string
		tenths int
	}{
		{"XDR", 2000}, {"NDR", 1000}, {"HDR", 500}, {"EDR", 250},
		{"FDR", 140}, {"QDR", 100}, {"DDR", 50}, {"SDR", 25},
	}
	ibWidths = []int{4, 1, 2, 8, 12}
)

// rdmaRate formats a link speed as ports/N/rate does ("400 Gb/sec (4X
// NDR)"), or reports false for a speed no InfiniBand width and lane
// speed give.
func rdmaRate(gbps float64) (string, bool) {
	t := gbps * 10
	tenths := int(math.Round(t))
	if math.Abs(t-float64(tenths)) > 1e-6 || tenths <= 0 {
		return "", false
	}
	for _, width := range ibWidths {
		for _, lane := range ibLanes {
			if lane.tenths*width != tenths {
				continue
			}
			frac := ""
			if tenths%10 != 0 {
				frac = fmt.Sprintf(".%d", tenths%10)
			}
			return fmt.Sprintf("%d%s Gb/sec (%dX %s)", tenths/10, frac, width, lane.name), true
		}
	}
	return "", false
}

// rdmaIndices returns each NIC's RDMA device number (mlx5_<n>,
// uverbs<n>), or -1 for a NIC without RDMA. The kernel numbers devices
// in probe order, which is PCI order on the modelled machines; machine
// files list NICs in that order.
func (m *Machine) rdmaIndices() []int {
	out := make([]int, len(m.NICs))
	next := 0
	for i := range m.NICs {
		out[i] = -1
		if m.NICs[i].rdma() {
			out[i] = next
			next++
		}
	}
	return out
}

// nicMAC returns NIC i's MAC address, derived from the machine name so
// that it is stable across runs. It is a locally administered unicast
// address, so that it can never be mistaken for a real adapter's.
func (m *Machine) nicMAC(i int) [6]byte {
	h := digest("mac", m.Name, i)
	var mac [6]byte
	copy(mac[:], h[:6])
	mac[0] = mac[0]&0xfc | 0x02
	return mac
}

// nicGUID returns the node GUID of NIC i the way mlx5 firmware derives it
// from the MAC: the OUI, 03:00, then the rest of the MAC.
func (m *Machine) nicGUID(i int) [8]byte {
	mac := m.nicMAC(i)
	return [8]byte{mac[0], mac[1], mac[2], 0x03, 0x00, mac[3], mac[4], mac[5]}
}

// netdevAddress returns the netdev address file of NIC i: the MAC, or for
// IPoIB the 20-byte hardware address (flags and queue pair number, the
// link-local GID prefix, the port GUID).
func (m *Machine) netdevAddress(i int) string {
	if m.NICs[i].LinkLayer != linkLayerInfiniBand {
		mac := m.nicMAC(i)
		return net.HardwareAddr(mac[:]).String()
	}
	h := digest("ipoib-qpn", m.Name, i)
	guid := m.nicGUID(i)
	addr := []byte{0x00, h[0], h[1], h[2], 0xfe, 0x80, 0, 0, 0, 0, 0, 0}
	return net.HardwareAddr(append(addr, guid[:]...)).String()
}

// formatGUID writes a GUID as node_guid does: "b83f:d203:00a1:b2c4".
func formatGUID(g [8]byte) string {
	return fmt.Sprintf("%02x%02x:%02x%02x:%02x%02x:%02x%02x", g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7])
}
