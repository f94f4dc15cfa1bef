package nodesim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
	"k8s.io/kubernetes/pkg/kubelet/cm/dra"
	draplugin "k8s.io/kubernetes/pkg/kubelet/cm/dra/plugin"
	"k8s.io/kubernetes/pkg/kubelet/pluginmanager"
)

// kubelet is the part of the real kubelet a simulated node runs: the plugin
// manager that watches the registration directory and the DRA manager
// that calls NodePrepareResources/NodeUnprepareResources over gRPC.
type kubelet struct {
	dra    *dra.Manager
	cancel context.CancelFunc
	done   chan struct{}
}

// allSourcesReady tells the DRA manager that the pod list it gets is
// complete: the simulator's informer is synced before the kubelet starts.
type allSourcesReady struct{}

func (allSourcesReady) AddSource(string) {}
func (allSourcesReady) AllReady() bool   { return true }

// RegistryDir and PluginsDir follow the kubelet's layout under its root.
func RegistryDir(kubeletDir string) string { return filepath.Join(kubeletDir, "plugins_registry") }

func startKubelet(ctx context.Context, client kubernetes.Interface, kubeletDir string, recorder record.EventRecorder,
	activePods dra.ActivePodsFunc, getNode dra.GetNodeFunc) (*kubelet, error) {
	stateDir := filepath.Join(kubeletDir, "dra-state")
	for _, dir := range []string{stateDir, RegistryDir(kubeletDir)} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create kubelet directory: %w", err)
		}
	}
	manager, err := dra.NewManager(klog.FromContext(ctx), client, stateDir)
	if err != nil {
		return nil, fmt.Errorf("create DRA manager: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	if err := manager.Start(ctx, activePods, getNode, allSourcesReady{}); err != nil {
		cancel()
		return nil, fmt.Errorf("start DRA manager: %w", err)
	}
	plugins := pluginmanager.NewPluginManager(RegistryDir(kubeletDir), recorder)
	plugins.AddHandler(registerapi.DRAPlugin, manager.GetWatcherHandler())
	k := &kubelet{dra: manager, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		plugins.Run(ctx, allSourcesReady{}, ctx.Done())
	}()
	return k, nil
}

func (k *kubelet) stop() {
	k.cancel()
	<-k.done
	k.dra.Stop()
}

// prepare runs the kubelet's own claim preparation for a pod and checks,
// as a container runtime would, that every CDI device it was given resolves
// in the node's CDI directory.
func (k *kubelet) prepare(ctx context.Context, pod *v1.Pod, resolver *cdiResolver) error {
	if err := k.dra.PrepareResources(ctx, pod); err != nil {
		return err
	}
	var ids []string
	for i := range pod.Spec.Containers {
		info, err := k.dra.GetResources(pod, &pod.Spec.Containers[i])
		if err != nil {
			return fmt.Errorf("container %s: %w", pod.Spec.Containers[i].Name, err)
		}
		for _, dev := range info.CDIDevices {
			ids = append(ids, dev.Name)
		}
	}
	return resolver.resolve(ids)
}

// plugins is the kubelet's registry of DRA drivers.
func (k *kubelet) plugins() interface {
	GetPlugin(string) (*draplugin.DRAPlugin, error)
} {
	return k.dra.GetWatcherHandler().(*draplugin.DRAPluginManager)
}
