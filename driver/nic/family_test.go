package nic

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	internal "k8s.io/kubernetes/pkg/apis/resource"
	resourcev1 "k8s.io/kubernetes/pkg/apis/resource/v1"
	"k8s.io/kubernetes/pkg/apis/resource/validation"
	"k8s.io/utils/ptr"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// sysfs writes a fake tree of device number files (path relative to the
// root → content) and returns its root.
func sysfs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	uverbs0Dev = "sys/class/infiniband_verbs/uverbs0/dev"
	uverbs3Dev = "sys/class/infiniband_verbs/uverbs3/dev"
	rdmaCMDev  = "sys/class/misc/rdma_cm/dev"
)

func result(device string) resourceapi.DeviceRequestAllocationResult {
	return resourceapi.DeviceRequestAllocationResult{Request: "rdma", Driver: attrs.NICDriver, Pool: "n1", Device: device}
}

func sharedResult(device, bandwidth string) resourceapi.DeviceRequestAllocationResult {
	r := result(device)
	r.ShareID = ptr.To(types.UID("5f0c3a4e-8f5e-4c55-9d43-1c0e7e6a2b10"))
	r.ConsumedCapacity = map[resourceapi.QualifiedName]resource.Quantity{attrs.NICBandwidth: resource.MustParse(bandwidth)}
	return r
}

func charDev(name string, major, minor int64) *cdispec.DeviceNode {
	return &cdispec.DeviceNode{Path: "/dev/infiniband/" + name, Type: "c", Major: major, Minor: minor}
}

func TestPrepare(t *testing.T) {
	ib0Env := []string{
		"HADRON_NIC_0_PCI_BUS_ID=0000:1b:00.0",
		"HADRON_NIC_0_RDMA_DEVICE=mlx5_0",
		"HADRON_NIC_0_UVERBS=/dev/infiniband/uverbs0",
		"HADRON_NIC_0_INTERFACE=ibp27s0",
		"HADRON_NIC_0_LINK_LAYER=InfiniBand",
	}
	roceEnv := []string{
		"HADRON_NIC_1_PCI_BUS_ID=0000:9a:00.1",
		"HADRON_NIC_1_RDMA_DEVICE=mlx5_3",
		"HADRON_NIC_1_UVERBS=/dev/infiniband/uverbs3",
		"HADRON_NIC_1_INTERFACE=ens2f1np1",
		"HADRON_NIC_1_LINK_LAYER=Ethernet",
	}
	readable := map[string]string{uverbs0Dev: "231:192\n", uverbs3Dev: "231:207\n", rdmaCMDev: "10:121\n"}
	for _, tt := range []struct {
		name    string
		files   map[string]string
		opts    Options
		results []resourceapi.DeviceRequestAllocationResult
		// nodes and env per result.
		nodes [][]*cdispec.DeviceNode
		env   [][]string
		// log is a substring of the log, if any is expected.
		log string
	}{{
		name:    "numbers from sysfs",
		files:   readable,
		results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-9a-00-1")},
		nodes:   [][]*cdispec.DeviceNode{{charDev("uverbs3", 231, 207), charDev("rdma_cm", 10, 121)}},
		env:     [][]string{roceEnv},
	}, {
		name:    "two NICs in one container",
		files:   readable,
		results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-1b-00-0"), result("nic-0000-9a-00-1")},
		nodes: [][]*cdispec.DeviceNode{
			{charDev("uverbs0", 231, 192), charDev("rdma_cm", 10, 121)},
			{charDev("uverbs3", 231, 207), charDev("rdma_cm", 10, 121)},
		},
		env: [][]string{ib0Env, roceEnv},
	}, {
		name:    "files missing",
		files:   map[string]string{},
		results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-9a-00-1")},
		nodes:   [][]*cdispec.DeviceNode{{charDev("uverbs3", 231, 195), charDev("rdma_cm", 10, 58)}},
		env:     [][]string{roceEnv},
		log:     "Device number not in sysfs, using the well-known one",
	}, {
		name:    "garbage",
		files:   map[string]string{uverbs3Dev: "garbage", rdmaCMDev: "0:58"},
		results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-9a-00-1")},
		nodes:   [][]*cdispec.DeviceNode{{charDev("uverbs3", 231, 195), charDev("rdma_cm", 10, 58)}},
		env:     [][]string{roceEnv},
		log:     `Device number unreadable, using the well-known one`,
	}, {
		name:    "shared NIC",
		files:   readable,
		opts:    Options{Sharing: SharingBandwidth},
		results: []resourceapi.DeviceRequestAllocationResult{sharedResult("nic-0000-1b-00-0", "25G")},
		nodes:   [][]*cdispec.DeviceNode{{charDev("uverbs0", 231, 192), charDev("rdma_cm", 10, 121)}},
		env:     [][]string{append(append([]string(nil), ib0Env...), "HADRON_NIC_0_BANDWIDTH=25000000000")},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, logs := logged(t)
			f := NewFamily("n1", node(), sysfs(t, tt.files), tt.opts)
			prepared, err := f.Prepare(ctx, &resourceapi.ResourceClaim{}, tt.results)
			if err != nil {
				t.Fatal(err)
			}
			if len(prepared) != len(tt.results) {
				t.Fatalf("prepared %d devices for %d results", len(prepared), len(tt.results))
			}
			seen := map[string]bool{}
			for i, p := range prepared {
				if !reflect.DeepEqual(p.Result, tt.results[i]) {
					t.Errorf("result %d changed: %+v", i, p.Result)
				}
				if !reflect.DeepEqual(p.Edits.DeviceNodes, tt.nodes[i]) {
					t.Errorf("device nodes %d:\n got %s\nwant %s", i, nodesString(p.Edits.DeviceNodes), nodesString(tt.nodes[i]))
				}
				if !reflect.DeepEqual(p.Edits.Env, tt.env[i]) {
					t.Errorf("env %d:\n got %q\nwant %q", i, p.Edits.Env, tt.env[i])
				}
				for _, e := range p.Edits.Env {
					name, _, _ := strings.Cut(e, "=")
					if seen[name] {
						t.Errorf("%s is set by two devices", name)
					}
					seen[name] = true
				}
				var s preparedNIC
				if err := json.Unmarshal(p.State, &s); err != nil {
					t.Fatalf("state %s: %v", p.State, err)
				}
				if s.Device != tt.results[i].Device || s.UverbsDev.Major != tt.nodes[i][0].Major || s.UverbsDev.Minor != tt.nodes[i][0].Minor {
					t.Errorf("state %+v", s)
				}
				if q, ok := tt.results[i].ConsumedCapacity[attrs.NICBandwidth]; ok && s.BandwidthBitsPerSecond != q.Value() {
					t.Errorf("state records bandwidth %d, want %d", s.BandwidthBitsPerSecond, q.Value())
				}
			}
			if l := logs(); tt.log != "" && !strings.Contains(l, tt.log) {
				t.Errorf("log does not contain %q:\n%s", tt.log, l)
			}
		})
	}
}

func nodesString(nodes []*cdispec.DeviceNode) string {
	var parts []string
	for _, n := range nodes {
		parts = append(parts, fmt.Sprintf("%s(%s %d:%d)", n.Path, n.Type, n.Major, n.Minor))
	}
	return strings.Join(parts, " ")
}

func TestReadDevNum(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		content string
		want    devNum
		err     bool
	}{
		{content: "231:192\n", want: devNum{231, 192}},
		{content: " 10:58 ", want: devNum{10, 58}},
		{content: "", err: true},
		{content: "231", err: true},
		{content: ":5", err: true},
		{content: "0:5", err: true},
		{content: "-1:3", err: true},
		{content: "231:192:7", err: true},
		{content: "231:99999999999", err: true},
		{content: strings.Repeat("1", 100) + ":1", err: true},
		{content: "231:19\x002", err: true},
	} {
		file := filepath.Join(dir, "dev")
		if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readDevNum(file)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("readDevNum(%q) = %v, %v; want %v, error %t", tt.content, got, err, tt.want, tt.err)
		}
	}
	if _, err := readDevNum(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file read")
	}
}

func TestPrepareErrors(t *testing.T) {
	wrongDriver := result("nic-0000-1b-00-0")
	wrongDriver.Driver = attrs.GPUDriver
	wrongPool := result("nic-0000-1b-00-0")
	wrongPool.Pool = "n2"
	noBandwidth := sharedResult("nic-0000-1b-00-0", "1G")
	noBandwidth.ConsumedCapacity = nil
	for _, tt := range []struct {
		name    string
		opts    Options
		results []resourceapi.DeviceRequestAllocationResult
		err     string
	}{
		{name: "unknown device", results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-1b-00-0"), result("gpu-1234")},
			err: `request "rdma": device "gpu-1234" is not an RDMA NIC published by nic.hadron.dev on node n1`},
		{name: "NIC without RDMA", results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-05-00-0")},
			err: `device "nic-0000-05-00-0" is not an RDMA NIC`},
		{name: "other driver", results: []resourceapi.DeviceRequestAllocationResult{wrongDriver},
			err: `belongs to driver "gpu.hadron.dev"`},
		{name: "other pool", results: []resourceapi.DeviceRequestAllocationResult{wrongPool},
			err: `device n2/nic-0000-1b-00-0 is not from this node's pool "n1"`},
		{name: "shared without bandwidth", opts: Options{Sharing: SharingBandwidth}, results: []resourceapi.DeviceRequestAllocationResult{noBandwidth},
			err: "allocation of shared NIC records no consumed nic.hadron.dev/bandwidth"},
		{name: "negative bandwidth", opts: Options{Sharing: SharingBandwidth}, results: []resourceapi.DeviceRequestAllocationResult{sharedResult("nic-0000-1b-00-0", "-1G")},
			err: "negative nic.hadron.dev/bandwidth"},
		{name: "invalid options", opts: Options{Sharing: "fast"}, results: []resourceapi.DeviceRequestAllocationResult{result("nic-0000-1b-00-0")},
			err: `invalid NIC options: sharing: unknown NIC sharing mode "fast"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFamily("n1", node(), t.TempDir(), tt.opts)
			prepared, err := f.Prepare(quiet(t), &resourceapi.ResourceClaim{}, tt.results)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %v, %v; want error %q", prepared, err, tt.err)
			}
		})
	}
}

func TestInvalidOptionsPublishNothing(t *testing.T) {
	f := NewFamily("n1", node(), "/", Options{SharedInterfaces: []string{"ib0"}})
	if _, err := f.Resources(quiet(t)); err == nil || !strings.Contains(err.Error(), "sharedInterfaces") {
		t.Fatalf("got %v, want the options error", err)
	}
}

func TestUnprepareAcceptsAnyState(t *testing.T) {
	f := NewFamily("n1", node(), "/", Options{})
	for _, devices := range [][]checkpoint.Device{
		nil,
		{{Pool: "n1", Device: "nic-0000-1b-00-0"}},
		{{Pool: "n1", Device: "nic-0000-1b-00-0", State: json.RawMessage(`{"device":"nic-0000-1b-00-0","index":0}`)}},
		{{Pool: "n9", Device: "gone", State: json.RawMessage(`not json`)}},
	} {
		if err := f.Unprepare(quiet(t), "uid", devices); err != nil {
			t.Errorf("Unprepare(%+v): %v", devices, err)
		}
	}
}

// TestSlicesPassAPIValidation runs the API server's ResourceSlice
// validation on what the family publishes, exclusive and shared.
func TestSlicesPassAPIValidation(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := resourcev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	slow := rdmaNIC("0000:3b:00.0", "eth0", "mlx5_1", "uverbs1", 0, topology.LinkLayerEthernet, 10)
	slow.SpeedMbps, slow.RDMA.RateGbps = 2500, 0 // 2.5G: the default share must shrink
	nics := append(node(), slow)
	q := resource.MustParse
	for name, opts := range map[string]Options{
		"exclusive":        {},
		"shared":           {Sharing: SharingBandwidth},
		"shared, 2G steps": {Sharing: SharingBandwidth, DefaultBandwidth: q("7G"), MinBandwidth: q("1G"), BandwidthStep: q("2G")},
		"one shared":       {Sharing: SharingBandwidth, SharedInterfaces: []string{"mlx5_0"}},
	} {
		res, err := NewFamily("n1", nics, "/", opts).Resources(quiet(t))
		if err != nil {
			t.Fatal(err)
		}
		slices := res.Pools["n1"].Slices
		for i, s := range slices {
			in := &resourceapi.ResourceSlice{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n1-nic-%d", i)},
				Spec: resourceapi.ResourceSliceSpec{
					Driver:   attrs.NICDriver,
					Pool:     resourceapi.ResourcePool{Name: "n1", ResourceSliceCount: int64(len(slices))},
					NodeName: ptr.To("n1"),
					Devices:  s.Devices,
				},
			}
			var out internal.ResourceSlice
			if err := scheme.Convert(in, &out, nil); err != nil {
				t.Fatal(err)
			}
			if errs := validation.ValidateResourceSlice(&out); len(errs) > 0 {
				t.Errorf("%s: %v", name, errs.ToAggregate())
			}
			if len(s.Devices) != 3 {
				t.Errorf("%s: %d devices published, want 3", name, len(s.Devices))
			}
		}
	}
}
