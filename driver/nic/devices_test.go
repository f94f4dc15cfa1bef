package nic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// rdmaNIC is a ConnectX-7 function as topology discovery reports it.
func rdmaNIC(addr, iface, rdma, uverbs string, numa int, ll topology.LinkLayer, gbps int64) topology.NIC {
	return topology.NIC{
		PCIDevice: topology.PCIDevice{
			Address: addr, Vendor: 0x15b3, Device: 0x1021, Class: 0x020700,
			VendorName: "Mellanox Technologies", ProductName: "MT2910 Family [ConnectX-7]",
			NUMANode: numa, PCIeRoot: "pci0000:" + strings.ToLower(addr[5:7]), Driver: "mlx5_core",
		},
		Interface: iface, SpeedMbps: gbps * 1000,
		RDMA: &topology.RDMADevice{Name: rdma, LinkLayer: ll, RateGbps: gbps, Uverbs: uverbs},
	}
}

// node is a synthetic machine: an InfiniBand HCA, a RoCE adapter without
// NUMA information, and an onboard NIC without RDMA.
func node() []topology.NIC {
	return []topology.NIC{
		rdmaNIC("0000:9a:00.1", "ens2f1np1", "mlx5_3", "uverbs3", topology.Unknown, topology.LinkLayerEthernet, 200),
		{PCIDevice: topology.PCIDevice{Address: "0000:05:00.0", VendorName: "Intel Corporation", NUMANode: 0}, Interface: "eno1", SpeedMbps: 1000},
		rdmaNIC("0000:1b:00.0", "ibp27s0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400),
	}
}

// quiet is a context whose logs go to the test's log.
func quiet(t *testing.T) context.Context {
	ctx, _ := logged(t)
	return ctx
}

// logged returns a context whose log lines can be read back.
func logged(t *testing.T) (context.Context, func() string) {
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.BufferLogs(true)))
	ctx := klog.NewContext(context.Background(), logger)
	return ctx, func() string { return logger.GetSink().(ktesting.Underlier).GetBuffer().String() }
}

func resources(ctx context.Context, t *testing.T, f *Family) []resourceapi.Device {
	t.Helper()
	res, err := f.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []resourceapi.Device
	for _, s := range res.Pools["n1"].Slices {
		out = append(out, s.Devices...)
	}
	return out
}

func str(s string) resourceapi.DeviceAttribute { return resourceapi.DeviceAttribute{StringValue: &s} }
func num(i int64) resourceapi.DeviceAttribute  { return resourceapi.DeviceAttribute{IntValue: &i} }

func TestResources(t *testing.T) {
	ctx, logs := logged(t)
	devices := resources(ctx, t, NewFamily("n1", node(), "/", Options{}))
	common := func(extra map[resourceapi.QualifiedName]resourceapi.DeviceAttribute) map[resourceapi.QualifiedName]resourceapi.DeviceAttribute {
		a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
			attrs.NICVendor: str("Mellanox Technologies"),
			attrs.NICModel:  str("MT2910 Family [ConnectX-7]"),
			attrs.NICRDMA:   {BoolValue: ptr.To(true)},
		}
		for k, v := range extra {
			a[k] = v
		}
		return a
	}
	want := []resourceapi.Device{{
		Name: "nic-0000-1b-00-0",
		Attributes: common(map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
			attrs.NUMANode:      num(0),
			attrs.PCIeRoot:      str("pci0000:1b"),
			attrs.PCIBusID:      str("0000:1b:00.0"),
			attrs.NICInterface:  str("ibp27s0"),
			attrs.NICRDMADevice: str("mlx5_0"),
			attrs.NICLinkLayer:  str("InfiniBand"),
			attrs.NICSpeedGbps:  num(400),
		}),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.NICBandwidth: {Value: resource.MustParse("400G")}},
	}, {
		// RoCE, and no NUMA node: the attribute is left out, not -1.
		Name: "nic-0000-9a-00-1",
		Attributes: common(map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
			attrs.PCIeRoot:      str("pci0000:9a"),
			attrs.PCIBusID:      str("0000:9a:00.1"),
			attrs.NICInterface:  str("ens2f1np1"),
			attrs.NICRDMADevice: str("mlx5_3"),
			attrs.NICLinkLayer:  str("Ethernet"),
			attrs.NICSpeedGbps:  num(200),
		}),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.NICBandwidth: {Value: resource.MustParse("200G")}},
	}}
	if len(devices) != len(want) {
		t.Fatalf("got %d devices, want %d: %+v", len(devices), len(want), devices)
	}
	for i := range want {
		got := devices[i]
		if got.Name != want[i].Name {
			t.Errorf("device %d is %s, want %s", i, got.Name, want[i].Name)
		}
		if !reflect.DeepEqual(got.Attributes, want[i].Attributes) {
			t.Errorf("%s attributes:\n got %s\nwant %s", got.Name, fmtAttrs(got.Attributes), fmtAttrs(want[i].Attributes))
		}
		gotBW, wantBW := got.Capacity[attrs.NICBandwidth], want[i].Capacity[attrs.NICBandwidth]
		if len(got.Capacity) != 1 || gotBW.Value.Cmp(wantBW.Value) != 0 || gotBW.Value.String() != wantBW.Value.String() || gotBW.RequestPolicy != nil {
			t.Errorf("%s capacity %v, want bandwidth %s without a request policy", got.Name, got.Capacity, &wantBW.Value)
		}
		if got.AllowMultipleAllocations != nil {
			t.Errorf("%s allows multiple allocations in exclusive mode", got.Name)
		}
	}
	if l := logs(); !strings.Contains(l, `Skipping NIC address="0000:05:00.0" interface="eno1" reason="no RDMA device"`) {
		t.Errorf("the NIC without RDMA is not logged as skipped:\n%s", l)
	}
}

func fmtAttrs(a map[resourceapi.QualifiedName]resourceapi.DeviceAttribute) string {
	var parts []string
	for k, v := range a {
		switch {
		case v.StringValue != nil:
			parts = append(parts, fmt.Sprintf("%s=%q", k, *v.StringValue))
		case v.IntValue != nil:
			parts = append(parts, fmt.Sprintf("%s=%d", k, *v.IntValue))
		case v.BoolValue != nil:
			parts = append(parts, fmt.Sprintf("%s=%t", k, *v.BoolValue))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestOptionalAttributes(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	for _, tt := range []struct {
		name   string
		edit   func(*topology.NIC)
		absent []resourceapi.QualifiedName
		check  func(t *testing.T, d resourceapi.Device)
	}{
		{name: "no interface, root or link layer", edit: func(n *topology.NIC) {
			n.Interface, n.PCIeRoot, n.RDMA.LinkLayer = "", "", "Unknown"
		}, absent: []resourceapi.QualifiedName{attrs.NICInterface, attrs.PCIeRoot, attrs.NICLinkLayer}},
		{name: "speed unknown", edit: func(n *topology.NIC) { n.SpeedMbps, n.RDMA.RateGbps = 0, 0 },
			absent: []resourceapi.QualifiedName{attrs.NICSpeedGbps}, check: func(t *testing.T, d resourceapi.Device) {
				if d.Capacity != nil {
					t.Errorf("bandwidth published for a link of unknown speed: %v", d.Capacity)
				}
			}},
		{name: "netdev speed when the port rate is unknown", edit: func(n *topology.NIC) { n.SpeedMbps, n.RDMA.RateGbps = 25000, 0 },
			check: func(t *testing.T, d resourceapi.Device) {
				bw := d.Capacity[attrs.NICBandwidth]
				if *d.Attributes[attrs.NICSpeedGbps].IntValue != 25 || bw.Value.String() != "25G" {
					t.Errorf("speed %d, bandwidth %s; want 25 and 25G", *d.Attributes[attrs.NICSpeedGbps].IntValue, &bw.Value)
				}
			}},
		{name: "names unknown to the PCI database", edit: func(n *topology.NIC) { n.VendorName, n.ProductName = "", "" },
			check: func(t *testing.T, d resourceapi.Device) {
				if *d.Attributes[attrs.NICVendor].StringValue != "0x15b3" || *d.Attributes[attrs.NICModel].StringValue != "0x1021" {
					t.Errorf("vendor %q, model %q", *d.Attributes[attrs.NICVendor].StringValue, *d.Attributes[attrs.NICModel].StringValue)
				}
			}},
		{name: "no vendor at all", edit: func(n *topology.NIC) { n.VendorName, n.ProductName, n.Vendor, n.Device = "", "", 0, 0 },
			absent: []resourceapi.QualifiedName{attrs.NICVendor, attrs.NICModel}},
		{name: "long product name", edit: func(n *topology.NIC) { n.ProductName = long },
			check: func(t *testing.T, d resourceapi.Device) {
				if got := *d.Attributes[attrs.NICModel].StringValue; got != long[:64] {
					t.Errorf("model %q (%d bytes), want the first 32 characters", got, len(got))
				}
			}},
		{name: "long product name cut inside a character", edit: func(n *topology.NIC) { n.ProductName = "x" + long },
			check: func(t *testing.T, d resourceapi.Device) {
				if got := *d.Attributes[attrs.NICModel].StringValue; got != "x"+long[:62] {
					t.Errorf("model %q (%d bytes), want x and 31 characters", got, len(got))
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 1, topology.LinkLayerInfiniBand, 100)
			tt.edit(&n)
			devices := resources(quiet(t), t, NewFamily("n1", []topology.NIC{n}, "/", Options{}))
			if len(devices) != 1 {
				t.Fatalf("got %d devices", len(devices))
			}
			for _, a := range tt.absent {
				if v, ok := devices[0].Attributes[a]; ok {
					t.Errorf("%s published: %+v", a, v)
				}
			}
			if tt.check != nil {
				tt.check(t, devices[0])
			}
		})
	}
}

func TestSkippedNICs(t *testing.T) {
	good := func() topology.NIC {
		return rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400)
	}
	for _, tt := range []struct {
		name   string
		edit   func(*topology.NIC)
		reason string
	}{
		{"no RDMA", func(n *topology.NIC) { n.RDMA = nil }, "no RDMA device"},
		{"no address", func(n *topology.NIC) { n.Address = "" }, "PCI address is not domain:bus:device.function"},
		{"odd address", func(n *topology.NIC) { n.Address = "0000:1b:00.0/../x" }, "PCI address is not"},
		{"no RDMA name", func(n *topology.NIC) { n.RDMA.Name = "" }, "RDMA device has no name"},
		{"no verbs device", func(n *topology.NIC) { n.RDMA.Uverbs = "" }, "no usable user verbs device"},
		{"verbs path escape", func(n *topology.NIC) { n.RDMA.Uverbs = "../uverbs0" }, "no usable user verbs device"},
		{"verbs without number", func(n *topology.NIC) { n.RDMA.Uverbs = "uverbs" }, "no usable user verbs device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := good()
			tt.edit(&n)
			ctx, logs := logged(t)
			if devices := resources(ctx, t, NewFamily("n1", []topology.NIC{n}, "/", Options{})); len(devices) != 0 {
				t.Fatalf("published %+v", devices)
			}
			if l := logs(); !strings.Contains(l, "Skipping NIC") || !strings.Contains(l, tt.reason) {
				t.Errorf("log does not say %q:\n%s", tt.reason, l)
			}
		})
	}
}

func TestDeviceNames(t *testing.T) {
	for addr, want := range map[string]string{
		"0000:1b:00.1":  "nic-0000-1b-00-1",
		"0000:AF:1F.7":  "nic-0000-af-1f-7",
		"10000:e1:00.0": "nic-10000-e1-00-0",
	} {
		if got := DeviceName(addr); got != want {
			t.Errorf("DeviceName(%q) = %q, want %q", addr, got, want)
		}
	}

	// Every function of every bus of two domains: names are valid DNS
	// labels and unique.
	var nics []topology.NIC
	for _, domain := range []string{"0000", "10000"} {
		for bus := 0; bus < 256; bus += 3 {
			for fn := 0; fn < 8; fn++ {
				addr := fmt.Sprintf("%s:%02x:%02x.%d", domain, bus, bus%32, fn)
				nics = append(nics, rdmaNIC(addr, "", fmt.Sprintf("mlx5_%d", len(nics)), fmt.Sprintf("uverbs%d", len(nics)), 0, topology.LinkLayerEthernet, 100))
			}
		}
	}
	devices := resources(quiet(t), t, NewFamily("n1", nics, "/", Options{}))
	if len(devices) != len(nics) {
		t.Fatalf("published %d of %d NICs", len(devices), len(nics))
	}
	seen := map[string]bool{}
	for _, d := range devices {
		if errs := validation.IsDNS1123Label(d.Name); len(errs) > 0 {
			t.Errorf("%q: %v", d.Name, errs)
		}
		if seen[d.Name] {
			t.Errorf("%q published twice", d.Name)
		}
		seen[d.Name] = true
	}

	// The order discovery lists NICs in changes neither names nor indices.
	byAddress := func(nics []topology.NIC) map[string]string {
		f := NewFamily("n1", nics, "/", Options{})
		out := map[string]string{}
		for _, d := range f.devices {
			out[d.nic.Address] = fmt.Sprintf("%s #%d", d.name, d.index)
		}
		return out
	}
	want := byAddress(nics)
	shuffled := append([]topology.NIC(nil), nics...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := byAddress(shuffled); !reflect.DeepEqual(got, want) {
		t.Error("names or indices depend on discovery order")
	}
}

func TestIndicesAndDuplicates(t *testing.T) {
	nics := []topology.NIC{
		rdmaNIC("0000:c1:00.0", "ib3", "mlx5_3", "uverbs3", 1, topology.LinkLayerInfiniBand, 400),
		rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400),
		rdmaNIC("0000:1B:00.0", "ib9", "mlx5_9", "uverbs9", 0, topology.LinkLayerInfiniBand, 400),
		rdmaNIC("0000:2a:00.0", "ib1", "mlx5_1", "", 0, topology.LinkLayerInfiniBand, 400),
		rdmaNIC("0000:3a:00.0", "ib2", "mlx5_2", "uverbs2", 0, topology.LinkLayerInfiniBand, 400),
		{PCIDevice: topology.PCIDevice{Address: "0000:00:1f.6"}, Interface: "eno1"},
	}
	ctx, logs := logged(t)
	f := NewFamily("n1", nics, "/", Options{})
	resources(ctx, t, f)
	var got []string
	for _, d := range f.devices {
		got = append(got, fmt.Sprintf("%s=%d:%s", d.name, d.index, d.nic.RDMA.Name))
	}
	// The duplicate address and the NIC without a verbs device keep their
	// places in the numbering, so that the others do not move.
	want := []string{"nic-0000-1b-00-0=0:mlx5_0", "nic-0000-3a-00-0=3:mlx5_2", "nic-0000-c1-00-0=4:mlx5_3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if l := logs(); !strings.Contains(l, "same PCI address as another NIC") {
		t.Errorf("duplicate not logged:\n%s", l)
	}
}

func TestSharedMode(t *testing.T) {
	q := resource.MustParse
	for _, tt := range []struct {
		name string
		opts Options
		nic  topology.NIC
		// policy is "default min step", empty for an exclusive device.
		policy string
		log    string
	}{
		{name: "defaults", opts: Options{Sharing: SharingBandwidth},
			nic: rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400), policy: "10G 1G 1G"},
		{name: "custom", opts: Options{Sharing: SharingBandwidth, DefaultBandwidth: q("50G"), MinBandwidth: q("10G"), BandwidthStep: q("20G")},
			nic: rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400), policy: "50G 10G 20G"},
		{name: "default lowered to fit a slow link", opts: Options{Sharing: SharingBandwidth, DefaultBandwidth: q("20G"), MinBandwidth: q("2G"), BandwidthStep: q("3G")},
			nic: rdmaNIC("0000:1b:00.0", "eth0", "mlx5_0", "uverbs0", 0, topology.LinkLayerEthernet, 10), policy: "8G 2G 3G"},
		{name: "selected by interface", opts: Options{Sharing: SharingBandwidth, SharedInterfaces: []string{"ib0"}},
			nic: rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400), policy: "10G 1G 1G"},
		{name: "selected by RDMA device", opts: Options{Sharing: SharingBandwidth, SharedInterfaces: []string{"mlx5_0"}},
			nic: rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400), policy: "10G 1G 1G"},
		{name: "not selected", opts: Options{Sharing: SharingBandwidth, SharedInterfaces: []string{"ib7"}},
			nic: rdmaNIC("0000:1b:00.0", "ib0", "mlx5_0", "uverbs0", 0, topology.LinkLayerInfiniBand, 400),
			log: `NIC named for sharing is not published name="ib7"`},
		{name: "link too slow", opts: Options{Sharing: SharingBandwidth},
			nic: rdmaNIC("0000:1b:00.0", "eth0", "mlx5_0", "uverbs0", 0, topology.LinkLayerEthernet, 1),
			log: `link of 1G is below the minimum share plus one step (2G)`},
		{name: "speed unknown", opts: Options{Sharing: SharingBandwidth},
			nic: rdmaNIC("0000:1b:00.0", "eth0", "mlx5_0", "uverbs0", 0, topology.LinkLayerEthernet, 0),
			log: `Publishing NIC exclusively device="nic-0000-1b-00-0" interface="eth0" reason="link speed unknown"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, logs := logged(t)
			devices := resources(ctx, t, NewFamily("n1", []topology.NIC{tt.nic}, "/", tt.opts))
			if len(devices) != 1 {
				t.Fatalf("got %d devices", len(devices))
			}
			d := devices[0]
			shared := d.AllowMultipleAllocations != nil && *d.AllowMultipleAllocations
			bw, hasBW := d.Capacity[attrs.NICBandwidth]
			switch {
			case tt.policy == "" && shared:
				t.Errorf("published shared: %+v", d)
			case tt.policy == "" && hasBW && bw.RequestPolicy != nil:
				t.Errorf("exclusive device with a request policy: %+v", bw.RequestPolicy)
			case tt.policy != "" && (!shared || !hasBW || bw.RequestPolicy == nil || bw.RequestPolicy.ValidRange == nil):
				t.Errorf("not published shared with a bandwidth range: %+v", d)
			case tt.policy != "":
				p := bw.RequestPolicy
				if got := fmt.Sprintf("%s %s %s", p.Default, p.ValidRange.Min, p.ValidRange.Step); got != tt.policy || p.ValidRange.Max != nil {
					t.Errorf("policy %q (max %v), want %q", got, p.ValidRange.Max, tt.policy)
				}
				if bw.Value.Cmp(*resource.NewQuantity(linkBitsPerSecond(tt.nic), resource.DecimalSI)) != 0 {
					t.Errorf("bandwidth %s", &bw.Value)
				}
			}
			if l := logs(); tt.log != "" && !strings.Contains(l, tt.log) {
				t.Errorf("log does not contain %s:\n%s", tt.log, l)
			}
		})
	}
}
