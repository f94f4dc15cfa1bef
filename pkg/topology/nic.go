package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// readNIC completes a network function found at dir (below sys/devices)
// with its netdev and RDMA device. A function without either is still a
// NIC: its driver may be unbound, or it is a virtual function handed to
// a guest.
func (d *discovery) readNIC(dev PCIDevice, dir string) NIC {
	n := NIC{PCIDevice: dev}
	netDir := d.netDir(dir)
	n.Interface = d.firstEntry(netDir, "interface unknown")
	if n.Interface != "" {
		base := netDir + "/" + n.Interface
		if mac, ok := d.r.optAttr(base+"/address", "MAC unknown"); ok {
			n.MAC = mac
		}
		n.SpeedMbps = d.speed(base + "/speed")
	}
	n.RDMA = d.readRDMA(dir)
	return n
}

// netDir returns the directory holding the function's netdevs: dir/net,
// or for virtio-net, the cloud virtual machines' NIC, the net directory
// of the virtio device below the PCI function (dir/virtio2/net).
func (d *discovery) netDir(dir string) string {
	if !d.r.missing(dir + "/net") {
		return dir + "/net"
	}
	entries, err := d.r.readDir(dir)
	if err != nil {
		return dir + "/net"
	}
	for _, n := range numbered(entries, "virtio") {
		if virtio := fmt.Sprintf("%s/virtio%d/net", dir, n); !d.r.missing(virtio) {
			return virtio
		}
	}
	return dir + "/net"
}

// firstEntry returns the first name, in sorted order, in the directory
// rel; "" when it does not exist or is empty. A function with several
// netdevs (switchdev representors, IPoIB child interfaces "ib0.8001")
// or RDMA devices reports the first.
func (d *discovery) firstEntry(rel, orElse string) string {
	if entries := d.r.optDir(rel, orElse); len(entries) > 0 {
		return entries[0].Name()
	}
	return ""
}

// speed reads a netdev's speed in Mb/s. Reading it fails with EINVAL
// while the link is down: that is an unknown speed, not a problem.
func (d *discovery) speed(rel string) int64 {
	data, err := d.r.readFile(rel, maxAttrBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.EINVAL):
		return 0
	case err != nil:
		d.r.warn(rel, "%s; speed unknown", why(err))
		return 0
	}
	v, err := parseSpeed(strings.TrimSpace(string(data)))
	if err != nil {
		d.r.warn(rel, "%v; speed unknown", err)
		return 0
	}
	return v
}

// readRDMA reads the RDMA device of the function at dir, from
// dir/infiniband/<dev> (InfiniBand HCAs and RoCE NICs alike) and the user
// verbs device from dir/infiniband_verbs/uverbsN. The first port (ports
// are numbered from 1) gives the link layer and rate.
func (d *discovery) readRDMA(dir string) *RDMADevice {
	name := d.firstEntry(dir+"/infiniband", "RDMA device unknown")
	if name == "" {
		return nil
	}
	rdma := &RDMADevice{Name: name}
	ports := dir + "/infiniband/" + name + "/ports"
	entries, err := d.r.readDir(ports)
	if err != nil {
		d.r.warn(ports, "%s; link layer and rate unknown", why(err))
	} else if nums := numbered(entries, ""); len(nums) == 0 {
		d.r.warn(ports, "holds no port; link layer and rate unknown")
	} else {
		port := fmt.Sprintf("%s/%d", ports, nums[0])
		if s, ok := d.r.attr(port+"/link_layer", "link layer unknown"); ok {
			if s == "" {
				d.r.warn(port+"/link_layer", "empty; link layer unknown")
			}
			rdma.LinkLayer = LinkLayer(s)
		}
		if s, ok := d.r.attr(port+"/rate", "rate unknown"); ok {
			if g, err := parseRate(s); err == nil {
				rdma.RateGbps = g
			} else {
				d.r.warn(port+"/rate", "%v; rate unknown", err)
			}
		}
	}
	rdma.Uverbs = d.uverbs(dir+"/infiniband_verbs", name)
	return rdma
}

// uverbs returns the uverbsN entry of the verbs directory whose ibdev is
// the RDMA device name; "" when the kernel exposes none (ib_uverbs not
// loaded).
func (d *discovery) uverbs(verbsDir, ibdev string) string {
	var names, unnamed []string
	for _, e := range d.r.optDir(verbsDir, "uverbs device unknown") {
		if !strings.HasPrefix(e.Name(), "uverbs") {
			continue
		}
		names = append(names, e.Name())
		s, ok := d.r.optAttr(verbsDir+"/"+e.Name()+"/ibdev", "uverbs device unknown")
		switch {
		case ok && s == ibdev:
			return e.Name()
		case !ok:
			unnamed = append(unnamed, e.Name())
		}
	}
	// A function's only verbs device without an ibdev file is the one;
	// with several, a guess could hand out another device.
	if len(names) == 1 && len(unnamed) == 1 {
		return unnamed[0]
	}
	if len(names) > 0 {
		d.r.warn(verbsDir, "no uverbsN entry names %s in its ibdev; uverbs device unknown", ibdev)
	}
	return ""
}
