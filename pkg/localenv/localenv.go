// Package localenv is hadron's embedded local cluster: the real control
// plane (pkg/localcluster), hadron's DeviceClasses and scheduler
// configuration from deploy/, and simulated GPU nodes running the real
// driver and kubelet code (pkg/nodesim). `hadron up`, `hadron demo`, the
// integration tests and the benchmarks all start it the same way.
package localenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/localcluster"
	"github.com/hadron-sched/hadron/pkg/nodesim"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// Options configures the local environment.
type Options struct {
	// WorkDir holds the control plane's and the nodes' state. Empty means a
	// temporary directory removed at Stop.
	WorkDir string
	// BinDir holds the control-plane binaries (default: localcluster's).
	BinDir string
	// SchedulerBinary defaults to hadron-scheduler.
	SchedulerBinary string
	// SchedulerConfig defaults to deploy/scheduler/config.yaml.
	SchedulerConfig []byte
	Nodes           []nodesim.NodeSpec
	// Progress is told about each step.
	Progress func(string)
}

// Env is a running local environment.
type Env struct {
	Cluster *localcluster.Cluster
	Sim     *nodesim.Simulator
	Client  kubernetes.Interface
	Config  *rest.Config
	// Timings of the start-up steps.
	ControlPlaneStartup time.Duration
	NodesStartup        time.Duration

	tempDir string
}

// Start brings up the control plane, installs hadron's DeviceClasses and
// the Tenant CRD, and starts the simulated nodes.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	env := &Env{}
	if opts.WorkDir == "" {
		if env.tempDir, err = os.MkdirTemp("", "hadron-"); err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		opts.WorkDir = env.tempDir
	}
	defer func() {
		if err != nil {
			_ = env.Stop()
		}
	}()
	if opts.SchedulerConfig == nil {
		opts.SchedulerConfig = deploy.SchedulerConfig
	}
	env.Cluster, err = localcluster.Start(ctx, localcluster.Options{
		BinDir:          opts.BinDir,
		WorkDir:         filepath.Join(opts.WorkDir, "control-plane"),
		SchedulerBinary: opts.SchedulerBinary,
		SchedulerConfig: opts.SchedulerConfig,
		Progress:        progress,
	})
	if err != nil {
		return nil, err
	}
	env.ControlPlaneStartup = env.Cluster.StartupTime
	env.Config = env.Cluster.Config
	if env.Client, err = kubernetes.NewForConfig(env.Config); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	applier, err := kube.NewApplier(env.Config)
	if err != nil {
		return nil, err
	}
	if err := applier.ApplyFS(ctx, deploy.DeviceClasses, "deviceclasses/*.yaml", ""); err != nil {
		return nil, fmt.Errorf("install DeviceClasses: %w", err)
	}
	progress("DeviceClasses installed")
	// No Capsule here: the minimal Tenant CRD gives the scheduler's
	// TenantQuota plugin Tenants to read quota labels from.
	if err := applier.ApplyFS(ctx, deploy.CRDs, "crds/*.yaml", ""); err != nil {
		return nil, fmt.Errorf("install CRDs: %w", err)
	}
	progress("Tenant CRD installed")
	// The control plane starts empty, so state of earlier nodes (prepared
	// claims in checkpoints) no longer means anything.
	nodesDir := filepath.Join(opts.WorkDir, "nodes")
	if err := os.RemoveAll(nodesDir); err != nil {
		return nil, fmt.Errorf("clear old node state: %w", err)
	}
	start := time.Now()
	env.Sim, err = nodesim.Start(ctx, nodesim.Options{
		Client:  env.Client,
		WorkDir: nodesDir,
		Nodes:   opts.Nodes,
	})
	if err != nil {
		return nil, fmt.Errorf("start simulated nodes: %w", err)
	}
	env.NodesStartup = time.Since(start)
	progress(fmt.Sprintf("%d simulated nodes ready (%s)", len(opts.Nodes), env.NodesStartup.Round(time.Millisecond)))
	return env, nil
}

// Stop stops the nodes, then the control plane.
func (e *Env) Stop() error {
	if e.Sim != nil {
		e.Sim.Stop()
		e.Sim = nil
	}
	var err error
	if e.Cluster != nil {
		err = e.Cluster.Stop()
		e.Cluster = nil
	}
	if e.tempDir != "" {
		_ = os.RemoveAll(e.tempDir)
		e.tempDir = ""
	}
	return err
}

// ParseNodes turns "dgxh100=2,dgxa100:mig,workstation:shared=1" into node
// specs. Each entry is machine[:gpu-mode][=count]; a machine is a built-in
// name or a machine file, the GPU mode whole (default), mig or shared.
// Nodes are named <machine>[-<mode>]-<n>.
func ParseNodes(spec string) ([]nodesim.NodeSpec, error) {
	var nodes []nodesim.NodeSpec
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		machineMode, countStr, hasCount := strings.Cut(part, "=")
		count := 1
		if hasCount {
			n, err := strconv.Atoi(countStr)
			if err != nil || n < 1 || n > 10000 {
				return nil, fmt.Errorf("nodes %q: count %q must be a number from 1 to 10000", part, countStr)
			}
			count = n
		}
		machine, modeStr, hasMode := strings.Cut(machineMode, ":")
		m, err := simhw.Load(machine)
		if err != nil {
			return nil, fmt.Errorf("nodes %q: %w", part, err)
		}
		prefix := m.Name
		var gpuConfig *config.Config
		if hasMode {
			mode, err := config.ParseMode(modeStr)
			if err != nil {
				return nil, fmt.Errorf("nodes %q: %w", part, err)
			}
			gpuConfig = config.Default(mode)
			if mode != config.ModeWhole {
				prefix += "-" + string(mode)
			}
		}
		for i := 1; i <= count; i++ {
			nodes = append(nodes, nodesim.NodeSpec{Name: fmt.Sprintf("%s-%d", prefix, i), Machine: machine, GPUConfig: gpuConfig})
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("nodes %q: no node given (example: dgxh100=2,dgxa100:mig,workstation:shared)", spec)
	}
	return nodes, nil
}
