package localenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
	"k8s.io/utils/ptr"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// cpuRequest asks for n exclusive CPUs of one NUMA node.
func cpuRequest(name string, n int64) resourceapi.DeviceRequest {
	r := request(name, cpuClass, 1)
	r.Exactly.Capacity = &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
		attrs.CPUs: *resource.NewQuantity(n, resource.DecimalSI),
	}}
	return r
}

func matchAttribute(attr resourceapi.QualifiedName, requests ...string) resourceapi.DeviceConstraint {
	return resourceapi.DeviceConstraint{Requests: requests, MatchAttribute: ptr.To(resourceapi.FullyQualifiedName(attr))}
}

// preparedCPUs reads, from a node's CPU driver checkpoint, the CPUs
// prepared for each claim and whether each choice was whole cores within
// one L3 group.
func preparedCPUs(t *testing.T, n *nodesim.Node) map[types.UID]cpuset.CPUSet {
	t.Helper()
	out := map[types.UID]cpuset.CPUSet{}
	for uid, c := range loadCheckpoint(t, n, attrs.CPUDriver).Claims {
		set := cpuset.New()
		for _, d := range c.Devices {
			var s struct {
				CPUs string `json:"cpus"`
			}
			if err := json.Unmarshal(d.State, &s); err != nil {
				t.Fatal(err)
			}
			cpus, err := cpuset.Parse(s.CPUs)
			if err != nil {
				t.Fatal(err)
			}
			set = set.Union(cpus)
		}
		out[uid] = set
	}
	return out
}

// cdiEnv collects the env of every CDI spec the node's drivers wrote for
// a claim.
func cdiEnv(t *testing.T, n *nodesim.Node, uid types.UID) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.CDIDir(), "*"+string(uid)+"*"))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var spec cdispec.Spec
		if err := json.Unmarshal(raw, &spec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range spec.Devices {
			env = append(env, d.ContainerEdits.Env...)
		}
	}
	return env
}

func byDriver(devices []kube.AllocatedDevice) map[string][]kube.AllocatedDevice {
	out := map[string][]kube.AllocatedDevice{}
	for _, d := range devices {
		out[d.Driver] = append(out[d.Driver], d)
	}
	return out
}

// TestGPUsCPUsAndNICOnOneNUMANode asks, in one claim, for 4 GPUs, 32
// exclusive CPUs and an InfiniBand NIC on one NUMA node of a DGX H100: the
// allocation is aligned, the prepared CPUs are on that node (whole cores,
// one L3 cache, none reserved) and reach the container. Five GPUs with a
// NIC cannot be aligned and the pod says why.
func TestGPUsCPUsAndNICOnOneNUMANode(t *testing.T) {
	ns := namespace(t)
	node := env.Sim.Node(dgxNode)
	pod := devicesPod(t, ns, "aligned", dgxNode, resourceapi.DeviceClaim{
		Requests: []resourceapi.DeviceRequest{
			request("gpus", gpuClass, 4),
			cpuRequest("cpus", 32),
			request("nic", nicClass, 1, `device.attributes["nic.hadron.dev"].linkLayer == "InfiniBand"`),
		},
		Constraints: []resourceapi.DeviceConstraint{matchAttribute(attrs.NUMANode, "gpus", "cpus", "nic")},
	})
	pod = waitPod(t, ns, pod.Name, time.Minute, running)
	devices := podDevices(t, pod)
	drivers := byDriver(devices)
	if len(drivers[attrs.GPUDriver]) != 4 || len(drivers[attrs.CPUDriver]) != 1 || len(drivers[attrs.NICDriver]) != 1 || len(numaNodes(devices)) != 1 {
		t.Fatalf("want 4 GPUs, 1 CPU device and 1 NIC on one NUMA node, got %s", describeDevices(devices))
	}
	numa, _ := devices[0].Int(attrs.NUMANode)

	claim := podClaim(t, pod)
	cpus := preparedCPUs(t, node)[claim.UID]
	topo := node.Hardware().Topology
	var nodeCPUs cpuset.CPUSet
	for _, n := range topo.Nodes {
		if int64(n.ID) == numa {
			nodeCPUs = n.CPUs
		}
	}
	if cpus.Size() != 32 || !cpus.IsSubsetOf(nodeCPUs) || cpus.Contains(0) || cpus.Contains(dgxReservedSibling) {
		t.Fatalf("prepared CPUs %s: want 32 CPUs of NUMA node %d (%s), none reserved", cpus, numa, nodeCPUs)
	}
	cores := map[[2]int]int{}
	for _, c := range topo.CPUs {
		if cpus.Contains(c.ID) {
			cores[[2]int{c.Socket, c.Core}]++
		}
	}
	if len(cores) != 16 {
		t.Errorf("32 CPUs on a 2-thread machine should be 16 whole cores, got %d cores", len(cores))
	}
	want := fmt.Sprintf("HADRON_CPUSET_NUMA%d=%s", numa, cpus)
	if env := cdiEnv(t, node, claim.UID); !strings.Contains(strings.Join(env, "\n"), want) {
		t.Errorf("CDI env %v lacks %s", env, want)
	}

	impossible := devicesPod(t, ns, "five-aligned", dgxNode, resourceapi.DeviceClaim{
		Requests:    []resourceapi.DeviceRequest{request("gpus", gpuClass, 5), request("nic", nicClass, 1)},
		Constraints: []resourceapi.DeviceConstraint{matchAttribute(attrs.NUMANode, "gpus", "nic")},
	})
	pending := waitPod(t, ns, impossible.Name, time.Minute, unschedulable)
	if msg := unscheduledMessage(pending); !strings.Contains(msg, string(attrs.NUMANode)) || !strings.Contains(msg, `"gpus"`) {
		t.Errorf("unschedulable message does not say why: %q", msg)
	}
	deletePodAndWait(t, ns, pod.Name)
	deletePodAndWait(t, ns, impossible.Name)
	if _, ok := preparedCPUs(t, node)[claim.UID]; ok {
		t.Error("CPUs still held after the pod ended")
	}
}

// TestGPUAndNICOnOnePCIeRoot pairs a GPU with the NIC behind the same PCIe
// switch, as GPUDirect RDMA needs.
func TestGPUAndNICOnOnePCIeRoot(t *testing.T) {
	ns := namespace(t)
	pod := devicesPod(t, ns, "gdr", dgxNode, resourceapi.DeviceClaim{
		Requests:    []resourceapi.DeviceRequest{request("gpu", gpuClass, 1), request("nic", nicClass, 1)},
		Constraints: []resourceapi.DeviceConstraint{matchAttribute(attrs.PCIeRoot, "gpu", "nic")},
	})
	pod = waitPod(t, ns, pod.Name, time.Minute, running)
	devices := podDevices(t, pod)
	roots := map[string]bool{}
	for _, d := range devices {
		r, _ := d.String(attrs.PCIeRoot)
		roots[r] = true
	}
	if len(devices) != 2 || len(roots) != 1 {
		t.Fatalf("want a GPU and a NIC on one PCIe root, got %v", roots)
	}
	claim := podClaim(t, pod)
	env := strings.Join(cdiEnv(t, env.Sim.Node(dgxNode), claim.UID), "\n")
	if !strings.Contains(env, "_RDMA_DEVICE=mlx5_") {
		t.Errorf("CDI env does not name the RDMA device: %s", env)
	}
	deletePodAndWait(t, ns, pod.Name)
}

// TestCPUsNeverOverlap prepares several CPU claims, restarts the node's
// driver and prepares more: no CPU is ever held by two claims, and the
// reserved CPUs are never handed out.
func TestCPUsNeverOverlap(t *testing.T) {
	ns := namespace(t)
	node := env.Sim.Node(dgxNode)
	var pods []string
	start := func(name string, n int64) {
		p := devicesPod(t, ns, name, dgxNode, resourceapi.DeviceClaim{Requests: []resourceapi.DeviceRequest{cpuRequest("cpus", n)}})
		waitPod(t, ns, p.Name, time.Minute, running)
		pods = append(pods, p.Name)
	}
	check := func(when string) {
		t.Helper()
		seen := cpuset.New()
		for uid, cpus := range preparedCPUs(t, node) {
			if !seen.Intersection(cpus).IsEmpty() {
				t.Fatalf("%s: claim %s got CPUs %s that another claim holds", when, uid, seen.Intersection(cpus))
			}
			if cpus.Contains(0) || cpus.Contains(dgxReservedSibling) {
				t.Fatalf("%s: claim %s got reserved CPUs: %s", when, uid, cpus)
			}
			seen = seen.Union(cpus)
		}
	}
	for i, n := range []int64{30, 7, 50, 1} {
		start(fmt.Sprintf("before-%d", i), n)
	}
	check("before restart")
	node.StopDriver()
	if err := node.StartDriver(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int64{40, 3, 60} {
		start(fmt.Sprintf("after-%d", i), n)
	}
	check("after restart")
	if got := len(preparedCPUs(t, node)); got != 7 {
		t.Errorf("%d CPU claims prepared, want 7", got)
	}
	for _, p := range pods {
		deletePodAndWait(t, ns, p)
	}
}
