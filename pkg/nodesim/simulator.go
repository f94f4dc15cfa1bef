// Package nodesim runs simulated Kubernetes nodes against a real API
// server. A simulated node has simulated hardware (pkg/simhw) but real
// everything else: it registers a Node and renews its Lease, runs hadron's
// kubelet plugin for its machine, and runs the kubelet's own plugin manager
// and DRA manager to register the drivers and to prepare a bound pod's
// ResourceClaims over gRPC before reporting the pod Running, and to
// unprepare them when the pod ends. Containers are not started: a pod
// "runs" once everything a container runtime would need is in place.
package nodesim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver/cpu"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/driver/nic"
)

// NodeSpec describes one simulated node.
type NodeSpec struct {
	Name string
	// Machine is a built-in simulated machine name or a machine file.
	Machine string
	Labels  map[string]string
	// GPUConfig is the node's GPU driver configuration (nil: whole GPUs).
	GPUConfig *config.Config
	// CPU and NIC configure the node's CPU and NIC drivers (zero values:
	// no reserved CPUs, exclusive NICs).
	CPU cpu.Options
	NIC nic.Options
}

// Options configures a Simulator.
type Options struct {
	// Client must allow a high request rate: every prepare reads claims.
	Client kubernetes.Interface
	// WorkDir holds one directory per node (kubelet root, CDI specs, sysfs).
	WorkDir string
	Nodes   []NodeSpec
	// MaxPods is each node's pod capacity (default 110, as the kubelet).
	MaxPods int
	// Workers is how many pods are handled in parallel (default 4).
	Workers int
}

// Simulator runs a set of simulated nodes.
type Simulator struct {
	opts        Options
	client      kubernetes.Interface
	broadcaster record.EventBroadcaster
	pods        corelisters.PodLister
	podIndex    cache.Indexer
	queue       workqueue.TypedRateLimitingInterface[string]
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	mu       sync.Mutex
	nodes    map[string]*Node
	starting map[string]bool    // names of nodes being added
	added    int                // nodes ever added, numbering them
	lastSeen map[string]*v1.Pod // last state of each pod, to unprepare after it is gone
}

const nodeNameIndex = "spec.nodeName"

// Start registers every node, starts its drivers and kubelet code, and
// returns once every node's drivers are registered with its kubelet.
func Start(ctx context.Context, opts Options) (*Simulator, error) {
	if opts.MaxPods == 0 {
		opts.MaxPods = 110
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Simulator{
		opts:        opts,
		client:      opts.Client,
		broadcaster: record.NewBroadcaster(record.WithContext(ctx)),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodesim-pods"}),
		cancel:   cancel,
		nodes:    map[string]*Node{},
		starting: map[string]bool{},
		lastSeen: map[string]*v1.Pod{},
	}
	s.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: opts.Client.CoreV1().Events("")})

	factory := informers.NewSharedInformerFactory(opts.Client, 0)
	podInformer := factory.Core().V1().Pods()
	if err := podInformer.Informer().AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		return []string{obj.(*v1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		cancel()
		return nil, fmt.Errorf("index pods: %w", err)
	}
	s.pods = podInformer.Lister()
	s.podIndex = podInformer.Informer().GetIndexer()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.observe,
		UpdateFunc: func(_, obj any) { s.observe(obj) },
		DeleteFunc: s.observe,
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		cancel()
		return nil, errors.New("pod informer did not sync")
	}

	// Nodes start in parallel: most of a start is waiting (registration
	// with the kubelet code, the first publish), not computing.
	var g errgroup.Group
	g.SetLimit(8)
	for _, spec := range opts.Nodes {
		g.Go(func() error { return s.AddNode(ctx, spec) })
	}
	if err := g.Wait(); err != nil {
		s.Stop()
		return nil, err
	}
	for i := 0; i < opts.Workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for s.processNext(ctx) {
			}
		}()
	}
	return s, nil
}

// AddNode starts one more simulated node.
func (s *Simulator) AddNode(ctx context.Context, spec NodeSpec) error {
	// The name is taken before the node starts: nodes start concurrently,
	// and two of one name would share a directory and a Node object.
	s.mu.Lock()
	_, exists := s.nodes[spec.Name]
	if exists || s.starting[spec.Name] {
		s.mu.Unlock()
		return fmt.Errorf("node %s is already simulated", spec.Name)
	}
	s.starting[spec.Name] = true
	index := s.added
	s.added++
	s.mu.Unlock()
	recorder := s.broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: spec.Name})
	n, err := startNode(ctx, s, spec, filepath.Join(s.opts.WorkDir, spec.Name), recorder, index)
	s.mu.Lock()
	delete(s.starting, spec.Name)
	if err == nil {
		s.nodes[spec.Name] = n
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("node %s: %w", spec.Name, err)
	}
	// Pods may already be bound to this node (a restarted simulator).
	pods, _ := s.podIndex.ByIndex(nodeNameIndex, spec.Name)
	for _, obj := range pods {
		s.observe(obj)
	}
	return nil
}

// Node returns a simulated node by name, or nil.
func (s *Simulator) Node(name string) *Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[name]
}

// Stop stops every node. Node objects stay in the API server.
func (s *Simulator) Stop() {
	s.queue.ShutDown()
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	nodes := s.nodes
	s.nodes = map[string]*Node{}
	s.mu.Unlock()
	for _, n := range nodes {
		n.stop()
	}
	s.broadcaster.Shutdown()
}

// observe queues a pod bound to one of the simulated nodes.
func (s *Simulator) observe(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(pod)
	if err != nil {
		return
	}
	s.mu.Lock()
	_, ours := s.nodes[pod.Spec.NodeName]
	if ours {
		s.lastSeen[key] = pod
	}
	s.mu.Unlock()
	if ours {
		s.queue.Add(key)
	}
}

func (s *Simulator) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			klog.FromContext(ctx).V(2).Info("Pod not ready yet, will retry", "pod", key, "err", err)
			s.queue.AddRateLimited(key)
		}
		return true
	}
	s.queue.Forget(key)
	return true
}

// activePods is the kubelet's view of the pods that may still use their
// claims on a node: bound there and not terminated.
func (s *Simulator) activePods(nodeName string) func() []*v1.Pod {
	return func() []*v1.Pod {
		objs, _ := s.podIndex.ByIndex(nodeNameIndex, nodeName)
		pods := make([]*v1.Pod, 0, len(objs))
		for _, obj := range objs {
			pod := obj.(*v1.Pod)
			if pod.Status.Phase != v1.PodSucceeded && pod.Status.Phase != v1.PodFailed {
				pods = append(pods, pod)
			}
		}
		return pods
	}
}

// waitFor polls cond every interval until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, cond)
}
