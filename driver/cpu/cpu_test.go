package cpu

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/driver/cpu/nri"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// machine builds a topology with Linux's x86 numbering: thread 0 of every
// core first, then the siblings, so cpuN and cpuN+cores share a core.
func machine(sockets, nodesPerSocket, coresPerNode, threads, coresPerL3 int) *topology.Topology {
	t := &topology.Topology{CPUModel: "Test CPU"}
	cores := sockets * nodesPerSocket * coresPerNode
	for th := 0; th < threads; th++ {
		for seq := 0; seq < cores; seq++ {
			node := seq / coresPerNode
			socket := node / nodesPerSocket
			var sib []int
			for s := 0; s < threads; s++ {
				sib = append(sib, s*cores+seq)
			}
			t.CPUs = append(t.CPUs, topology.CPU{
				ID: th*cores + seq, Socket: socket, Core: seq % (nodesPerSocket * coresPerNode),
				Node: node, L3: seq / coresPerL3, Siblings: cpuset.New(sib...),
			})
		}
	}
	return t
}

func TestChoose(t *testing.T) {
	// One node: 8 cores × 2 threads, two L3 groups of 4 cores.
	// Core c has threads c and c+8; group 0 = cores 0-3, group 1 = 4-7.
	topo := machine(1, 1, 8, 2, 4)
	l := newLayout(topo.CPUs)
	all := cpuset.New(seqInts(16)...)
	tests := []struct {
		name      string
		free      cpuset.CPUSet
		n         int
		want      string
		whole     bool
		groups    int
		wantError string
	}{
		{name: "whole cores in one group", free: all, n: 4, want: "0-1,8-9", whole: true, groups: 1},
		{name: "a full group", free: all, n: 8, want: "0-3,8-11", whole: true, groups: 1},
		{name: "tightest group that fits", free: all.Difference(cpuset.New(0, 8)), n: 6, want: "1-3,9-11", whole: true, groups: 1},
		{name: "odd count fills a used core first", free: all.Difference(cpuset.New(0)), n: 3, want: "1,8-9", whole: false, groups: 1},
		{name: "prefers whole cores over a tighter group", free: all.Difference(cpuset.New(0, 1, 2)), n: 4, want: "4-5,12-13", whole: true, groups: 1},
		{name: "spans groups when none fits", free: all, n: 12, want: "0-5,8-13", whole: true, groups: 2},
		{name: "all", free: all, n: 16, want: "0-15", whole: true, groups: 2},
		{name: "too many", free: all.Difference(cpuset.New(0)), n: 16, wantError: "16 CPUs asked for, 15 free"},
		{name: "zero", free: all, n: 0, wantError: "asked for 0 CPUs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := l.choose(tc.free, tc.n)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.CPUs.String() != tc.want || c.WholeCores != tc.whole || c.L3Groups != tc.groups {
				t.Errorf("choice = %s whole=%v groups=%d, want %s whole=%v groups=%d", c.CPUs, c.WholeCores, c.L3Groups, tc.want, tc.whole, tc.groups)
			}
			if !c.CPUs.IsSubsetOf(tc.free) || c.CPUs.Size() != tc.n {
				t.Errorf("choice %s is not %d CPUs of %s", c.CPUs, tc.n, tc.free)
			}
		})
	}
}

func TestChooseIsDeterministic(t *testing.T) {
	topo := machine(2, 2, 14, 2, 7)
	free := cpuset.New(seqInts(112)...).Difference(cpuset.New(3, 17, 60, 61))
	var first string
	for i := 0; i < 20; i++ {
		l := newLayout(topo.CPUs) // fresh maps each time
		c, err := l.choose(free, 9)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c.CPUs.String()
		} else if c.CPUs.String() != first {
			t.Fatalf("run %d chose %s, first chose %s", i, c.CPUs, first)
		}
	}
}

func TestResources(t *testing.T) {
	topo := machine(2, 1, 4, 2, 4) // 16 CPUs, NUMA 0 = 0-3,8-11
	f, err := NewFamily("n1", topo, Options{Reserved: cpuset.New(0, 8), PackageIdleWatts: 100, PackageMaxWatts: 350})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Resources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	devs := res.Pools["n1"].Slices[0].Devices
	if len(devs) != 2 {
		t.Fatalf("devices = %d, want one per NUMA node", len(devs))
	}
	wantCPUs := map[string]int64{"numa-0": 6, "numa-1": 8}
	for _, d := range devs {
		if got := d.Capacity[attrs.CPUs].Value; got.Value() != wantCPUs[d.Name] {
			t.Errorf("%s offers %s CPUs, want %d (reserved never offered)", d.Name, got.String(), wantCPUs[d.Name])
		}
		if d.AllowMultipleAllocations == nil || !*d.AllowMultipleAllocations {
			t.Errorf("%s must allow multiple allocations", d.Name)
		}
		if *d.Attributes[attrs.CPUSMT].BoolValue != true || *d.Attributes[attrs.CPUPackageMaxWatts].IntValue != 350 {
			t.Errorf("%s attributes %v", d.Name, d.Attributes)
		}
	}
	if n := *devs[1].Attributes[attrs.NUMANode].IntValue; n != 1 {
		t.Errorf("numaNode of numa-1 = %d", n)
	}
}

func TestOptionsValidate(t *testing.T) {
	topo := machine(1, 1, 2, 1, 2)
	for _, o := range []Options{
		{Reserved: cpuset.New(7)},
		{PackageIdleWatts: 400, PackageMaxWatts: 300},
		{PackageIdleWatts: -1},
	} {
		if _, err := NewFamily("n", topo, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func claimFor(uid string, pod types.UID) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "c-" + uid, Namespace: "ns", UID: types.UID(uid)},
		Status: resourceapi.ResourceClaimStatus{ReservedFor: []resourceapi.ResourceClaimConsumerReference{
			{Resource: "pods", Name: "p", UID: pod},
		}},
	}
}

func cpuResult(device string, n int64) resourceapi.DeviceRequestAllocationResult {
	share := types.UID("share-" + device)
	return resourceapi.DeviceRequestAllocationResult{
		Request: "cpus", Driver: attrs.CPUDriver, Pool: "n1", Device: device, ShareID: &share,
		ConsumedCapacity: map[resourceapi.QualifiedName]resource.Quantity{attrs.CPUs: *resource.NewQuantity(n, resource.DecimalSI)},
	}
}

func TestPrepareNeverOverlapsAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	topo := machine(2, 1, 8, 2, 4)
	f, err := NewFamily("n1", topo, Options{Reserved: cpuset.New(0, 16)})
	if err != nil {
		t.Fatal(err)
	}
	var records []checkpoint.Device
	taken := cpuset.New()
	prepare := func(f *Family, uid string, n int64) cpuset.CPUSet {
		t.Helper()
		out, err := f.Prepare(ctx, claimFor(uid, "pod-"+types.UID(uid)), []resourceapi.DeviceRequestAllocationResult{cpuResult("numa-0", n)})
		if err != nil {
			t.Fatalf("prepare %s: %v", uid, err)
		}
		var s preparedCPUs
		if err := json.Unmarshal(out[0].State, &s); err != nil {
			t.Fatal(err)
		}
		got, err := cpuset.Parse(s.CPUs)
		if err != nil {
			t.Fatal(err)
		}
		if got.Size() != int(n) || !taken.Intersection(got).IsEmpty() || got.Contains(0) || got.Contains(16) {
			t.Fatalf("claim %s got %s; already taken %s", uid, got, taken)
		}
		taken = taken.Union(got)
		records = append(records, checkpoint.Device{Device: "numa-0", State: out[0].State})
		if !strings.Contains(strings.Join(out[0].Edits.Env, " "), "HADRON_CPUSET_NUMA0="+s.CPUs) {
			t.Errorf("env %v does not carry the CPUs", out[0].Edits.Env)
		}
		return got
	}
	prepare(f, "a", 4)
	b := prepare(f, "b", 3)

	// A restarted driver rebuilds what is held from the checkpoint.
	f2, err := NewFamily("n1", topo, Options{Reserved: cpuset.New(0, 16)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Reconcile(ctx, records); err != nil {
		t.Fatal(err)
	}
	if !f2.Exclusive().Equals(taken) {
		t.Fatalf("after restart exclusive = %s, want %s", f2.Exclusive(), taken)
	}
	if cpus, pods, ok := f2.ClaimCPUs("a"); !ok || cpus.Size() != 4 || len(pods) != 1 || pods[0] != "pod-a" {
		t.Errorf("claim a after restart: %s %v %v", cpus, pods, ok)
	}
	prepare(f2, "c", 7)
	// Node 0 offers 14 CPUs; 14 are now taken.
	if _, err := f2.Prepare(ctx, claimFor("d", "pod-d"), []resourceapi.DeviceRequestAllocationResult{cpuResult("numa-0", 1)}); err == nil {
		t.Fatal("prepared a CPU beyond the node's offer")
	}
	if err := f2.Unprepare(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	taken = taken.Difference(b)
	prepare(f2, "e", 3)
}

func TestReconcileRejectsOverlap(t *testing.T) {
	f, err := NewFamily("n1", machine(1, 1, 4, 1, 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(uid, cpus string) checkpoint.Device {
		raw, _ := json.Marshal(preparedCPUs{ClaimUID: types.UID(uid), CPUs: cpus})
		return checkpoint.Device{Device: "numa-0", State: raw}
	}
	err = f.Reconcile(context.Background(), []checkpoint.Device{rec("a", "0-1"), rec("b", "1-2")})
	if err == nil || !strings.Contains(err.Error(), "recorded for another claim") {
		t.Fatalf("err = %v", err)
	}
	if err := f.Reconcile(context.Background(), []checkpoint.Device{{Device: "numa-0", State: []byte(`{"cpus":"x"}`)}}); err == nil {
		t.Fatal("garbage CPU list accepted")
	}
}

func TestPrepareRejectsForeignDevices(t *testing.T) {
	f, err := NewFamily("n1", machine(1, 1, 4, 1, 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := []resourceapi.DeviceRequestAllocationResult{
		cpuResult("numa-7", 1),
		cpuResult("gpu-0", 1),
		{Request: "cpus", Driver: attrs.CPUDriver, Pool: "n1", Device: "numa-0"},
		func() resourceapi.DeviceRequestAllocationResult { r := cpuResult("numa-0", 1); r.Pool = "n2"; return r }(),
	}
	for _, r := range bad {
		if _, err := f.Prepare(context.Background(), claimFor("x", "p"), []resourceapi.DeviceRequestAllocationResult{r}); err == nil {
			t.Errorf("result %+v accepted", r)
		}
	}
	if !f.Exclusive().IsEmpty() {
		t.Errorf("failed prepares left CPUs held: %s", f.Exclusive())
	}
}

func TestClaimEnvName(t *testing.T) {
	if got := ClaimEnvName("1b2c-3d"); got != "HADRON_CPU_CLAIM_1b2c_3d" {
		t.Errorf("ClaimEnvName = %s", got)
	}
}

func seqInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// The NRI plugin keeps its own copy of the prefix so as not to depend on
// the driver; both must agree.
func TestClaimEnvPrefixMatchesNRI(t *testing.T) {
	if nri.ClaimEnvPrefix != ClaimEnvPrefix {
		t.Fatalf("NRI plugin looks for %q, the driver writes %q", nri.ClaimEnvPrefix, ClaimEnvPrefix)
	}
}
