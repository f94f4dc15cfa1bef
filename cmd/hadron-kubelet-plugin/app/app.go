// Package app is the command line of hadron-kubelet-plugin: the DaemonSet
// binary that runs hadron's DRA drivers on a node.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/driver/cpu"
	cpunri "github.com/hadron-sched/hadron/driver/cpu/nri"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/driver/metrics"
	"github.com/hadron-sched/hadron/driver/nic"
	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/driver/reclaim"
)

type options struct {
	nodeName    string
	machine     string
	sysfsRoot   string
	kubeletDir  string
	cdiDir      string
	kubeconfig  string
	printSlices bool
	qps         float32
	burst       int
	gpuMode     string
	configFile  string
	reserved    string
	nicSharing  string
	nri         bool
	nriSocket   string
	// metricsAddress serves /metrics and /healthz; empty disables.
	metricsAddress string
	reclaimIdle    bool
	reclaimEvery   time.Duration
	reclaimBusy    int
}

// NewCommand returns the hadron-kubelet-plugin command.
func NewCommand() *cobra.Command {
	o := options{nodeName: os.Getenv("NODE_NAME")}
	cmd := &cobra.Command{
		Use:   "hadron-kubelet-plugin",
		Short: "hadron's DRA drivers (gpu, cpu and nic.hadron.dev) for one node",
		Long: `hadron-kubelet-plugin discovers the node's GPUs (through NVML), CPUs, NUMA
nodes and RDMA NICs (through sysfs) — or those of a simulated machine with
--machine — publishes them as ResourceSlices and prepares ResourceClaims for
the kubelet.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			if o.printSlices {
				return printSlices(ctx, o)
			}
			return run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.nodeName, "node-name", o.nodeName, "name of this node (default $NODE_NAME)")
	f.StringVar(&o.machine, "machine", "", "simulated machine: a built-in name (dgxa100, dgxh100, workstation, ...) or a machine file; empty uses the real hardware")
	f.StringVar(&o.sysfsRoot, "sysfs-root", "", "directory holding sys/ (default / ; with --machine, where the simulated tree is written, default a temporary directory)")
	f.StringVar(&o.kubeletDir, "kubelet-dir", "/var/lib/kubelet", "kubelet root directory (plugin sockets, registration, checkpoints)")
	f.StringVar(&o.cdiDir, "cdi-dir", "/var/run/cdi", "directory for CDI specs")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster configuration)")
	f.BoolVar(&o.printSlices, "print-slices", false, "print the ResourceSlices this node would publish as YAML and exit")
	f.StringVar(&o.gpuMode, "gpu-mode", "", "mode of every GPU no rule of --config matches: whole, mig or shared (default whole)")
	f.StringVar(&o.configFile, "config", "", "GPU driver configuration file (per-GPU modes, shared and MIG settings)")
	f.StringVar(&o.reserved, "reserved-cpus", "", "CPUs kept for the system and never offered by cpu.hadron.dev, as a Linux CPU list (e.g. 0,56); match the kubelet's reservedSystemCPUs")
	f.StringVar(&o.nicSharing, "nic-sharing", "exclusive", "how RDMA NICs are offered: exclusive, or bandwidth (many claims share a NIC's bandwidth capacity)")
	f.BoolVar(&o.nri, "nri", true, "enforce exclusive CPUs through the container runtime's NRI socket (without it, CPU claims are only advisory)")
	f.StringVar(&o.nriSocket, "nri-socket", cpunri.DefaultSocketPath, "the container runtime's NRI socket")
	f.StringVar(&o.metricsAddress, "metrics-address", ":8080", "address serving Prometheus metrics on /metrics and a health check on /healthz; empty disables")
	f.BoolVar(&o.reclaimIdle, "reclaim-idle-workspaces", true, "delete this node's workspace pods idle longer than their workspace.hadron.dev/idle-timeout annotation")
	f.DurationVar(&o.reclaimEvery, "reclaim-interval", reclaim.DefaultInterval, "how often workspaces are checked for idleness")
	f.IntVar(&o.reclaimBusy, "reclaim-gpu-busy-percent", reclaim.DefaultBusyPercent, "GPU utilisation (percent) from which a workspace with the gpu-utilization signal counts as active")
	f.Float32Var(&o.qps, "kube-api-qps", 50, "client QPS towards the API server (prepare reads every claim)")
	f.IntVar(&o.burst, "kube-api-burst", 100, "client burst towards the API server")
	return cmd
}

// gpuConfig reads --config and applies --gpu-mode over it.
func gpuConfig(o options) (*config.Config, error) {
	cfg := config.Default(config.ModeWhole)
	if o.configFile != "" {
		var err error
		if cfg, err = config.Load(o.configFile); err != nil {
			return nil, err
		}
	}
	if o.gpuMode != "" {
		mode, err := config.ParseMode(o.gpuMode)
		if err != nil {
			return nil, fmt.Errorf("--gpu-mode: %w", err)
		}
		cfg = cfg.WithDefaultMode(mode)
	}
	return cfg, nil
}

// familyOptions gathers every family's configuration from the flags.
func familyOptions(o options) (nodeplugin.FamilyOptions, error) {
	gpuCfg, err := gpuConfig(o)
	if err != nil {
		return nodeplugin.FamilyOptions{}, err
	}
	reserved, err := cpuset.Parse(o.reserved)
	if err != nil {
		return nodeplugin.FamilyOptions{}, fmt.Errorf("--reserved-cpus: %w", err)
	}
	sharing, err := nic.ParseSharing(o.nicSharing)
	if err != nil {
		return nodeplugin.FamilyOptions{}, fmt.Errorf("--nic-sharing: %w", err)
	}
	return nodeplugin.FamilyOptions{GPU: gpuCfg, CPU: cpu.Options{Reserved: reserved}, NIC: nic.Options{Sharing: sharing}}, nil
}

// openHardware opens the real or simulated hardware; the returned function
// releases it (and a temporary simulated sysfs tree).
func openHardware(o options, cfg *config.Config) (*nodeplugin.Hardware, func(), error) {
	if o.nodeName == "" {
		return nil, nil, errors.New("--node-name (or $NODE_NAME) is required")
	}
	opts := nodeplugin.HardwareOptions{Machine: o.machine, NodeName: o.nodeName, SysfsRoot: o.sysfsRoot, GPUConfig: cfg}
	removeTree := func() {}
	if o.machine != "" && o.sysfsRoot == "" {
		dir, err := os.MkdirTemp("", "hadron-sysfs-")
		if err != nil {
			return nil, nil, fmt.Errorf("create directory for simulated sysfs: %w", err)
		}
		opts.SysfsRoot = dir
		removeTree = func() { _ = os.RemoveAll(dir) }
	}
	hw, err := nodeplugin.OpenHardware(opts)
	if err != nil {
		removeTree()
		return nil, nil, err
	}
	return hw, func() { hw.Close(); removeTree() }, nil
}

func printSlices(ctx context.Context, o options) error {
	fo, err := familyOptions(o)
	if err != nil {
		return err
	}
	hw, release, err := openHardware(o, fo.GPU)
	if err != nil {
		return err
	}
	defer release()
	families, err := nodeplugin.Families(o.nodeName, hw, fo)
	if err != nil {
		return err
	}
	return nodeplugin.PrintSlices(ctx, os.Stdout, o.nodeName, families)
}

func run(ctx context.Context, o options) error {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	fo, err := familyOptions(o)
	if err != nil {
		return err
	}
	hw, release, err := openHardware(o, fo.GPU)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	node, err := nodeplugin.Start(ctx, nodeplugin.Options{
		NodeName:   o.nodeName,
		Client:     client,
		Hardware:   hw,
		Families:   fo,
		KubeletDir: filepath.Clean(o.kubeletDir),
		CDIDir:     o.cdiDir,
		OnFatal:    cancel,
	})
	if err != nil {
		return err
	}
	defer node.Stop()
	if o.nri {
		go runNRI(ctx, node.CPU, o.nriSocket)
	}
	if err := startMetrics(ctx, o.metricsAddress, cancel); err != nil {
		return err
	}
	if o.reclaimIdle {
		r, err := nodeplugin.NewReclaimer(node, hw, reclaim.Options{
			NodeName: o.nodeName, Client: client, Interval: o.reclaimEvery, BusyPercent: o.reclaimBusy,
		})
		if err != nil {
			return fmt.Errorf("--reclaim-*: %w", err)
		}
		go func() {
			if err := r.Run(ctx); err != nil {
				cancel(err)
			}
		}()
	}
	klog.FromContext(ctx).Info("hadron kubelet plugin running", "node", o.nodeName)
	<-ctx.Done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// startMetrics serves the metrics endpoint until ctx ends; a server that
// stops by itself stops the plugin, as a broken endpoint would otherwise
// go unnoticed.
func startMetrics(ctx context.Context, addr string, cancel context.CancelCauseFunc) error {
	if addr == "" {
		return nil
	}
	s, err := metrics.Listen(addr)
	if err != nil {
		return fmt.Errorf("--metrics-address: %w", err)
	}
	go func() {
		if err := s.Serve(ctx); err != nil {
			cancel(err)
		}
	}()
	return nil
}

// runNRI enforces prepared CPU claims as container cpusets. A node whose
// runtime has NRI switched off still runs the drivers; the claims are then
// advisory and the log says so.
func runNRI(ctx context.Context, cpus *cpu.Family, socket string) {
	logger := klog.FromContext(ctx)
	err := cpunri.Run(ctx, cpus, cpunri.Options{SocketPath: socket})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		logger.Info("No NRI socket: exclusive CPUs are not enforced; enable NRI in the container runtime", "socket", socket)
	case err != nil:
		logger.Error(err, "NRI plugin stopped: exclusive CPUs are not enforced", "socket", socket)
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and not in a cluster: %w", err)
	}
	return cfg, nil
}
