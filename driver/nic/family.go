// Package nic is hadron's RDMA network adapter family (DRA driver
// nic.hadron.dev). It publishes each RDMA-capable NIC of a node, placed by
// the standard NUMA node, PCIe root and PCI bus ID attributes so that
// claims can pair NICs with nearby GPUs, and prepares claims by handing
// the container the adapter's RDMA character devices. NICs are exclusive
// by default; they can instead be shared by bandwidth, which the scheduler
// accounts as consumable capacity.
//
// A container given NIC k (its index among the node's RDMA NICs in PCI
// address order) gets /dev/infiniband/uverbsN and /dev/infiniband/rdma_cm
// and these variables, numbered so that several NICs never collide:
//
//	HADRON_NIC_<k>_PCI_BUS_ID   0000:1b:00.0
//	HADRON_NIC_<k>_RDMA_DEVICE  mlx5_0
//	HADRON_NIC_<k>_UVERBS       /dev/infiniband/uverbs0
//	HADRON_NIC_<k>_INTERFACE    ibp27s0 (when the NIC has one)
//	HADRON_NIC_<k>_LINK_LAYER   InfiniBand or Ethernet (when known)
//	HADRON_NIC_<k>_BANDWIDTH    granted share in bits per second (shared NICs)
package nic

import (
	"context"
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// Family is the NIC device family of one node. It never changes after
// NewFamily, so it is safe for concurrent use.
type Family struct {
	nodeName  string
	sysfsRoot string
	opts      Options
	// optsErr is why the options are invalid; the family then publishes
	// and prepares nothing.
	optsErr error
	devices []*nicDevice          // in index order
	byName  map[string]*nicDevice // by DRA device name
	notes   []note                // logged when publishing
}

var _ driver.Family = &Family{}

// NewFamily returns the NIC family of nodeName for the adapters that
// topology discovery found. sysfsRoot is the directory that holds sys/
// ("/" on a real node, a fake tree for simulated machines); device numbers
// are read below it. Invalid options are reported by Resources and
// Prepare; call opts.Validate first to fail earlier.
func NewFamily(nodeName string, nics []topology.NIC, sysfsRoot string, opts Options) *Family {
	f := &Family{nodeName: nodeName, sysfsRoot: sysfsRoot, byName: map[string]*nicDevice{}}
	if err := opts.Validate(); err != nil {
		f.optsErr = fmt.Errorf("invalid NIC options: %w", err)
		return f
	}
	f.opts = opts.withDefaults()
	f.devices, f.notes = plan(nics, f.opts)
	for _, d := range f.devices {
		f.byName[d.name] = d
	}
	return f
}

// DriverName implements driver.Family.
func (f *Family) DriverName() string { return attrs.NICDriver }

// Resources implements driver.Family: one pool named after the node.
func (f *Family) Resources(ctx context.Context) (resourceslice.DriverResources, error) {
	if f.optsErr != nil {
		return resourceslice.DriverResources{}, f.optsErr
	}
	logger := klog.FromContext(ctx)
	for _, n := range f.notes {
		logger.Info(n.msg, n.kv...)
	}
	devices := make([]resourceapi.Device, 0, len(f.devices))
	for _, d := range f.devices {
		devices = append(devices, d.device(f.opts))
	}
	return resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		f.nodeName: {Slices: driver.SplitSlices(devices)},
	}}, nil
}

// Prepare implements driver.Family. It changes nothing on the node, so a
// claim with one bad result simply fails as a whole.
func (f *Family) Prepare(ctx context.Context, _ *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]driver.PreparedDevice, error) {
	if f.optsErr != nil {
		return nil, f.optsErr
	}
	devs := make([]*nicDevice, len(results))
	for i, r := range results {
		d, err := f.lookup(r)
		if err != nil {
			return nil, fmt.Errorf("request %q: %w", r.Request, err)
		}
		devs[i] = d
	}
	if len(results) == 0 {
		return nil, nil
	}
	rdmaCM := rdmaCMDevNum(ctx, f.sysfsRoot)
	out := make([]driver.PreparedDevice, 0, len(results))
	for i, r := range results {
		p, err := f.prepareOne(ctx, r, devs[i], rdmaCM)
		if err != nil {
			return nil, fmt.Errorf("request %q, device %s: %w", r.Request, r.Device, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// lookup finds the published NIC behind an allocation result.
func (f *Family) lookup(r resourceapi.DeviceRequestAllocationResult) (*nicDevice, error) {
	if err := driver.CheckResult(attrs.NICDriver, f.nodeName, r); err != nil {
		return nil, err
	}
	d, ok := f.byName[r.Device]
	if !ok {
		return nil, fmt.Errorf("device %q is not an RDMA NIC published by %s on node %s", r.Device, attrs.NICDriver, f.nodeName)
	}
	return d, nil
}

func (f *Family) prepareOne(ctx context.Context, r resourceapi.DeviceRequestAllocationResult, d *nicDevice, rdmaCM devNum) (driver.PreparedDevice, error) {
	n := d.nic
	uverbs, err := uverbsDevNum(ctx, f.sysfsRoot, n.RDMA.Uverbs)
	if err != nil {
		return driver.PreparedDevice{}, err
	}
	state := preparedNIC{
		Device: d.name, Index: d.index, PCIBusID: n.Address, Interface: n.Interface,
		RDMADevice: n.RDMA.Name, Uverbs: n.RDMA.Uverbs, UverbsDev: uverbs, RDMACMDev: rdmaCM,
	}
	// The allocator records every capacity of a shared device, so a
	// shared NIC's result without bandwidth is not one it produced.
	if q, ok := r.ConsumedCapacity[attrs.NICBandwidth]; ok {
		if q.Sign() < 0 {
			return driver.PreparedDevice{}, fmt.Errorf("allocation consumes a negative %s (%s)", attrs.NICBandwidth, &q)
		}
		state.BandwidthBitsPerSecond = q.Value()
	} else if d.shared {
		return driver.PreparedDevice{}, fmt.Errorf("allocation of shared NIC records no consumed %s", attrs.NICBandwidth)
	}
	return driver.NewPreparedDevice(r, containerEdits(state, linkLayer(n.RDMA.LinkLayer)), state)
}

// Unprepare implements driver.Family. Prepare changes nothing on the node:
// the container runtime creates the device nodes inside the container from
// the CDI spec (which the driver removes itself), the adapter and its
// network interface stay where they are, and bandwidth shares exist only
// in the scheduler's accounting. So there is nothing to undo, and the
// recorded state (possibly empty, from an interrupted prepare, or from
// another version) is not read.
func (f *Family) Unprepare(ctx context.Context, claimUID types.UID, devices []checkpoint.Device) error {
	klog.FromContext(ctx).V(4).Info("Nothing to undo for NICs", "claimUID", claimUID, "devices", len(devices))
	return nil
}
