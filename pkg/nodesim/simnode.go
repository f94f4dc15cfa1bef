package nodesim

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	draplugin "k8s.io/kubernetes/pkg/kubelet/cm/dra/plugin"

	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// Node is one running simulated node.
type Node struct {
	Name    string
	Machine *simhw.Machine
	// Dir holds the node's kubelet root, CDI specs and sysfs tree.
	Dir string

	sim       *Simulator
	recorder  record.EventRecorder
	kubelet   *kubelet
	resolver  *cdiResolver
	object    *v1.Node
	cancelHB  context.CancelFunc
	hbDone    chan struct{}
	pluginMu  sync.Mutex
	plugin    *nodeplugin.Node
	hardware  *nodeplugin.Hardware
	index     int // order of addition, for the node's pod IP range
	spec      NodeSpec
	podIPNext atomic.Int64 // pods of one node are started by several workers
}

// KubeletDir is the node's kubelet root directory.
func (n *Node) KubeletDir() string { return filepath.Join(n.Dir, "kubelet") }

// CDIDir is where the node's drivers write CDI specs.
func (n *Node) CDIDir() string { return filepath.Join(n.Dir, "cdi") }

// SysfsRoot holds the node's simulated sys/ tree.
func (n *Node) SysfsRoot() string { return filepath.Join(n.Dir, "root") }

// CheckpointPath is where driverName keeps its checkpoint on this node.
func (n *Node) CheckpointPath(driverName string) string {
	return filepath.Join(n.KubeletDir(), "plugins", driverName, "checkpoint.json")
}

func startNode(ctx context.Context, s *Simulator, spec NodeSpec, dir string, recorder record.EventRecorder, index int) (*Node, error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "node", spec.Name)
	ctx = klog.NewContext(ctx, logger)
	m, err := simhw.Load(spec.Machine)
	if err != nil {
		return nil, err
	}
	n := &Node{Name: spec.Name, Machine: m, Dir: dir, sim: s, recorder: recorder, spec: spec, index: index}
	n.resolver = &cdiResolver{dir: n.CDIDir()}
	// The hardware lives as long as the node: device state such as MIG
	// partitions survives driver restarts, as on a real machine.
	if n.hardware, err = nodeplugin.OpenHardware(nodeplugin.HardwareOptions{
		Machine: spec.Machine, NodeName: spec.Name, SysfsRoot: n.SysfsRoot(), GPUConfig: spec.GPUConfig,
	}); err != nil {
		return nil, err
	}
	want := nodeObject(spec.Name, m, spec.Labels, s.opts.MaxPods)
	if n.object, err = register(ctx, s.client, want); err != nil {
		n.hardware.Close()
		return nil, err
	}
	hbCtx, cancel := context.WithCancel(ctx)
	n.cancelHB, n.hbDone = cancel, make(chan struct{})
	go func() {
		defer close(n.hbDone)
		heartbeat(hbCtx, s.client, n.object, want.Status)
	}()
	getNode := func(context.Context) (*v1.Node, error) { return n.object, nil }
	if n.kubelet, err = startKubelet(hbCtx, s.client, n.KubeletDir(), recorder, s.activePods(spec.Name), getNode); err != nil {
		n.stop()
		return nil, err
	}
	if err := n.StartDriver(ctx); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

// StartDriver starts the node's hadron kubelet plugin and waits until the
// kubelet has registered every driver in it.
func (n *Node) StartDriver(ctx context.Context) error {
	n.pluginMu.Lock()
	defer n.pluginMu.Unlock()
	if n.plugin != nil {
		return fmt.Errorf("driver of node %s is already running", n.Name)
	}
	plugin, err := nodeplugin.Start(ctx, nodeplugin.Options{
		NodeName:   n.Name,
		Client:     n.sim.client,
		Hardware:   n.hardware,
		Families:   nodeplugin.FamilyOptions{GPU: n.spec.GPUConfig, CPU: n.spec.CPU, NIC: n.spec.NIC},
		KubeletDir: n.KubeletDir(),
		CDIDir:     n.CDIDir(),
		OnFatal: func(err error) {
			klog.FromContext(ctx).Error(err, "Driver reported a fatal error", "node", n.Name)
		},
	})
	if err != nil {
		return err
	}
	n.plugin = plugin
	return waitFor(ctx, 30*time.Second, func(context.Context) (bool, error) {
		for _, d := range plugin.Drivers {
			if _, err := n.kubelet.plugins().GetPlugin(d.Name()); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
}

// StopDriver stops the node's kubelet plugin, as a crash or an upgrade
// would; prepared claims stay in its checkpoints.
func (n *Node) StopDriver() {
	n.pluginMu.Lock()
	defer n.pluginMu.Unlock()
	if n.plugin != nil {
		n.plugin.Stop()
		n.plugin = nil
	}
}

// Plugin is the node's running kubelet plugin (nil while stopped).
func (n *Node) Plugin() *nodeplugin.Node {
	n.pluginMu.Lock()
	defer n.pluginMu.Unlock()
	return n.plugin
}

func (n *Node) stop() {
	n.StopDriver()
	if n.kubelet != nil {
		n.kubelet.stop()
	}
	if n.cancelHB != nil {
		n.cancelHB()
		<-n.hbDone
	}
	n.hardware.Close()
}

// Hardware is the node's simulated hardware.
func (n *Node) Hardware() *nodeplugin.Hardware { return n.hardware }

// nextPodIP hands out pod IPs from a per-node range. Nothing listens there:
// they only make pod status look like a real node's.
func (n *Node) nextPodIP() string {
	next := n.podIPNext.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", 128+n.index/256, n.index%256, next%250+2)
}

func podRunningStatus(pod *v1.Pod, podIP string) v1.PodStatus {
	now := metav1.Now()
	status := *pod.Status.DeepCopy()
	status.Phase = v1.PodRunning
	status.HostIP = "127.0.0.1"
	status.HostIPs = []v1.HostIP{{IP: "127.0.0.1"}}
	status.PodIP = podIP
	status.PodIPs = []v1.PodIP{{IP: podIP}}
	status.StartTime = &now
	setCondition := func(t v1.PodConditionType) {
		for i := range status.Conditions {
			if status.Conditions[i].Type == t {
				status.Conditions[i].Status = v1.ConditionTrue
				status.Conditions[i].LastTransitionTime = now
				return
			}
		}
		status.Conditions = append(status.Conditions, v1.PodCondition{Type: t, Status: v1.ConditionTrue, LastTransitionTime: now})
	}
	for _, t := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		setCondition(t)
	}
	status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, v1.ContainerStatus{
			Name:        c.Name,
			Image:       c.Image,
			ImageID:     c.Image,
			ContainerID: fmt.Sprintf("hadron-sim://%s-%s", pod.UID, c.Name),
			Ready:       true,
			Started:     new(true),
			State:       v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}},
		})
	}
	return status
}

// DRAPlugin is the kubelet's gRPC client for one of the node's drivers, as
// registered through the plugin manager.
func (n *Node) DRAPlugin(driverName string) (*draplugin.DRAPlugin, error) {
	return n.kubelet.plugins().GetPlugin(driverName)
}
