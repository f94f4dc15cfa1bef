package nic

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

var (
	// pciAddress is a sysfs PCI address, domain:bus:device.function in
	// lower case. Domains are longer than four digits behind some bridges
	// (Intel VMD).
	pciAddress = regexp.MustCompile(`^[0-9a-f]{4,8}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$`)
	// uverbsName is a user verbs device; the name becomes a path under
	// /dev/infiniband and sysfs, so nothing else is accepted.
	uverbsName = regexp.MustCompile(`^uverbs([0-9]{1,6})$`)
)

// DeviceName is the stable DRA device name of the NIC at a PCI address
// ("0000:1b:00.1" gives "nic-0000-1b-00-1"). It derives from where the
// adapter sits, never from enumeration order or from interface and RDMA
// device names, which udev rules and driver reloads may change. Only
// well-formed addresses (as the family publishes) give valid DNS labels.
func DeviceName(address string) string {
	return "nic-" + strings.NewReplacer(":", "-", ".", "-").Replace(strings.ToLower(address))
}

// nicDevice is one published NIC.
type nicDevice struct {
	name string
	// index is the NIC's position among the node's RDMA NICs in PCI address
	// order: stable while the set of adapters stays the same, and the <k>
	// of the HADRON_NIC_<k>_* variables.
	index int
	nic   topology.NIC
	// bandwidth is the link rate in bits per second, 0 when unknown.
	bandwidth int64
	shared    bool
}

// note is something about the node's NICs worth logging when publishing:
// a NIC left out, or one that could not be shared.
type note struct {
	msg string
	kv  []any
}

// plan decides which NICs are published and how. Adapters without RDMA,
// with malformed addresses or without a user verbs device are left out:
// a claim for them could not be prepared into anything usable.
func plan(nics []topology.NIC, opts Options) ([]*nicDevice, []note) {
	var notes []note
	skip := func(n topology.NIC, reason string) {
		notes = append(notes, note{"Skipping NIC", []any{"address", n.Address, "interface", n.Interface, "reason", reason}})
	}
	var rdma []topology.NIC
	for _, n := range nics {
		n.Address = strings.ToLower(n.Address)
		switch {
		case n.RDMA == nil:
			skip(n, "no RDMA device")
		case !pciAddress.MatchString(n.Address):
			skip(n, "PCI address is not domain:bus:device.function")
		default:
			rdma = append(rdma, n)
		}
	}
	sort.SliceStable(rdma, func(i, j int) bool { return rdma[i].Address < rdma[j].Address })

	sharedNames := map[string]bool{}
	for _, name := range opts.SharedInterfaces {
		sharedNames[name] = false
	}
	var out []*nicDevice
	for i, n := range rdma {
		// The index is assigned before the remaining checks, so that one
		// adapter losing its verbs device does not renumber the others.
		if i > 0 && n.Address == rdma[i-1].Address {
			skip(n, "same PCI address as another NIC")
			continue
		}
		switch {
		case n.RDMA.Name == "":
			skip(n, "RDMA device has no name")
			continue
		case !uverbsName.MatchString(n.RDMA.Uverbs):
			skip(n, fmt.Sprintf("no usable user verbs device (%q)", n.RDMA.Uverbs))
			continue
		}
		d := &nicDevice{name: DeviceName(n.Address), index: i, nic: n, bandwidth: linkBitsPerSecond(n)}
		if opts.Sharing == SharingBandwidth && selected(n, sharedNames) {
			if why := unshareable(d.bandwidth, opts); why != "" {
				notes = append(notes, note{"Publishing NIC exclusively", []any{"device", d.name, "interface", n.Interface, "reason", why}})
			} else {
				d.shared = true
			}
		}
		out = append(out, d)
	}
	for _, name := range opts.SharedInterfaces {
		if !sharedNames[name] {
			notes = append(notes, note{"NIC named for sharing is not published", []any{"name", name}})
		}
	}
	return out, notes
}

// selected reports whether a NIC is to be shared, and marks the names that
// chose it. An empty selection shares every NIC.
func selected(n topology.NIC, names map[string]bool) bool {
	if len(names) == 0 {
		return true
	}
	hit := false
	for _, name := range []string{n.Interface, n.RDMA.Name} {
		if _, ok := names[name]; ok && name != "" {
			names[name] = true
			hit = true
		}
	}
	return hit
}

// linkBitsPerSecond prefers the RDMA port's rate, which is what RDMA
// traffic gets, over the netdev's speed (absent on some InfiniBand
// setups).
func linkBitsPerSecond(n topology.NIC) int64 {
	const maxGbps = 1 << 32 // far above any link; keeps the product in int64
	switch {
	case n.RDMA != nil && n.RDMA.RateGbps > 0 && n.RDMA.RateGbps < maxGbps:
		return n.RDMA.RateGbps * 1_000_000_000
	case n.SpeedMbps > 0 && n.SpeedMbps < maxGbps*1000:
		return n.SpeedMbps * 1_000_000
	}
	return 0
}

// unshareable says why a link cannot carry the bandwidth request policy,
// or "" when it can: the API requires the minimum plus one step to fit.
func unshareable(bandwidth int64, opts Options) string {
	if bandwidth == 0 {
		return "link speed unknown"
	}
	if lo := opts.MinBandwidth.Value() + opts.BandwidthStep.Value(); lo > bandwidth {
		return fmt.Sprintf("link of %s is below the minimum share plus one step (%s)", bps(bandwidth), bps(lo))
	}
	return ""
}

func bps(v int64) *resource.Quantity { return resource.NewQuantity(v, resource.DecimalSI) }

// device is the ResourceSlice device of a NIC. opts has its defaults set.
func (d *nicDevice) device(opts Options) resourceapi.Device {
	n := d.nic
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.PCIBusID:      stringAttr(n.Address),
		attrs.NICRDMADevice: stringAttr(n.RDMA.Name),
		attrs.NICRDMA:       {BoolValue: ptr.To(true)},
	}
	if n.NUMANode >= 0 {
		a[attrs.NUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(n.NUMANode))}
	}
	optional := map[resourceapi.QualifiedName]string{
		attrs.PCIeRoot:     n.PCIeRoot,
		attrs.NICInterface: n.Interface,
		attrs.NICLinkLayer: linkLayer(n.RDMA.LinkLayer),
		attrs.NICVendor:    orHexID(n.VendorName, n.Vendor),
		attrs.NICModel:     orHexID(n.ProductName, n.Device),
	}
	for name, v := range optional {
		if v != "" {
			a[name] = stringAttr(v)
		}
	}
	dev := resourceapi.Device{Name: d.name, Attributes: a}
	if d.bandwidth == 0 {
		return dev
	}
	if gbps := d.bandwidth / 1_000_000_000; gbps > 0 {
		a[attrs.NICSpeedGbps] = resourceapi.DeviceAttribute{IntValue: ptr.To(gbps)}
	}
	capacity := resourceapi.DeviceCapacity{Value: *bps(d.bandwidth)}
	if d.shared {
		dev.AllowMultipleAllocations = ptr.To(true)
		capacity.RequestPolicy = requestPolicy(d.bandwidth, opts)
	}
	dev.Capacity = map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.NICBandwidth: capacity}
	return dev
}

// requestPolicy is the bandwidth policy of a shared NIC. The default is
// lowered to fit slow links (to the largest valid share), because the API
// accepts a default no allocation could ever satisfy and the scheduler
// would then never place a request that leaves bandwidth out.
func requestPolicy(bandwidth int64, opts Options) *resourceapi.CapacityRequestPolicy {
	lo, step := opts.MinBandwidth.Value(), opts.BandwidthStep.Value()
	def := min(opts.DefaultBandwidth.Value(), bandwidth)
	def = lo + (def-lo)/step*step
	return &resourceapi.CapacityRequestPolicy{
		Default: bps(def),
		ValidRange: &resourceapi.CapacityRequestPolicyRange{
			Min:  bps(lo),
			Step: bps(step),
		},
	}
}

// linkLayer maps the topology's link layer to the published values;
// anything else is left out rather than guessed.
func linkLayer(l topology.LinkLayer) string {
	switch l {
	case topology.LinkLayerInfiniBand:
		return attrs.NICLinkLayerInfiniBand
	case topology.LinkLayerEthernet:
		return attrs.NICLinkLayerEthernet
	}
	return ""
}

func orHexID(name string, id uint16) string {
	if name != "" {
		return name
	}
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("0x%04x", id)
}

// stringAttr cuts values to the API's limit (PCI database product names
// can be longer) on a character boundary.
func stringAttr(v string) resourceapi.DeviceAttribute {
	if len(v) > resourceapi.DeviceAttributeMaxValueLength {
		v = v[:resourceapi.DeviceAttributeMaxValueLength]
		// Drop a character the cut split (at most three bytes of it).
		for i := 0; i < utf8.UTFMax-1; i++ {
			if r, size := utf8.DecodeLastRuneInString(v); r != utf8.RuneError || size != 1 {
				break
			}
			v = v[:len(v)-1]
		}
	}
	return resourceapi.DeviceAttribute{StringValue: ptr.To(v)}
}
