package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver/cdi"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/driver/metrics"
)

// Config wires one device family into the kubelet on one node.
type Config struct {
	NodeName string
	Client   kubernetes.Interface
	Family   Family
	// PluginDir holds the driver's gRPC socket and, by default, its
	// checkpoint: <kubelet root>/plugins/<driver name>.
	PluginDir string
	// RegistrarDir is the kubelet's plugin registration directory:
	// <kubelet root>/plugins_registry.
	RegistrarDir string
	// CDIDir is where the per-claim CDI specs are written (/var/run/cdi).
	CDIDir string
	// CheckpointPath defaults to PluginDir/checkpoint.json.
	CheckpointPath string
	// HealthInterval is how often device health is re-sent to the kubelet.
	HealthInterval time.Duration
	// OnFatal is called for background errors that retrying will not fix
	// (for example a ResourceSlice the API server rejects). Defaults to
	// logging only.
	OnFatal func(err error)
}

// Driver is a running DRA driver for one device family on one node.
type Driver struct {
	cfg    Config
	mu     sync.Mutex // serializes prepare/unprepare and checkpoint access
	claims *claims
	helper *kubeletplugin.Helper
	// cancel stops a Watcher family's watch; done is closed when it ended.
	cancel context.CancelFunc
	done   chan struct{}

	// pubMu guards what was last published, which the health reports of
	// families without a HealthChecker are made of, and healthChanged.
	pubMu         sync.Mutex
	published     resourceslice.DriverResources
	byName        map[string]*resourceapi.Device // published devices by name
	healthChanged chan struct{}

	// gaugeMu guards gaugeTypes, the device types this driver has set
	// device-count gauges for.
	gaugeMu    sync.Mutex
	gaugeTypes map[string]bool
}

var _ kubeletplugin.DRAPlugin = &Driver{}

// Start recovers the checkpoint (rolling back interrupted prepares),
// registers with the kubelet and publishes the family's ResourceSlices.
func Start(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Family == nil || cfg.Client == nil || cfg.NodeName == "" {
		return nil, errors.New("driver: family, client and node name are required")
	}
	metrics.Register()
	name := cfg.Family.DriverName()
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "driver", name, "node", cfg.NodeName)
	ctx = klog.NewContext(ctx, logger)
	if cfg.CheckpointPath == "" {
		cfg.CheckpointPath = filepath.Join(cfg.PluginDir, "checkpoint.json")
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 20 * time.Second
	}
	for _, dir := range []string{cfg.PluginDir, cfg.RegistrarDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create plugin directory: %w", err)
		}
	}
	store := checkpoint.NewStore(cfg.CheckpointPath)
	state, err := store.Load()
	if err != nil {
		return nil, err
	}
	writer, err := cdi.NewWriter(cfg.CDIDir, name)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, claims: &claims{family: cfg.Family, store: store, cdi: writer, state: state},
		healthChanged: make(chan struct{})}
	if err := d.claims.recover(ctx); err != nil {
		return nil, fmt.Errorf("recover interrupted prepares: %w", err)
	}
	if r, ok := cfg.Family.(Reconciler); ok {
		var prepared []checkpoint.Device
		for _, c := range state.Claims {
			prepared = append(prepared, c.Devices...)
		}
		if err := r.Reconcile(ctx, prepared); err != nil {
			return nil, fmt.Errorf("clean up devices of no claim: %w", err)
		}
	}
	resources, err := cfg.Family.Resources(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover devices: %w", err)
	}
	// Recorded before the kubelet can connect and ask for device health.
	d.setPublished(resources)
	d.countPrepared()
	helper, err := kubeletplugin.Start(ctx, d,
		kubeletplugin.DriverName(name),
		kubeletplugin.NodeName(cfg.NodeName),
		kubeletplugin.KubeClient(cfg.Client),
		kubeletplugin.PluginDataDirectoryPath(cfg.PluginDir),
		kubeletplugin.RegistrarDirectoryPath(cfg.RegistrarDir),
		kubeletplugin.CDIDirectory(cfg.CDIDir),
	)
	if err != nil {
		return nil, fmt.Errorf("start kubelet plugin: %w", err)
	}
	d.helper = helper
	if err := helper.PublishResources(ctx, resources); err != nil {
		metrics.Errors.WithLabelValues(name, metrics.OperationPublish, reasonOther).Inc()
		helper.Stop()
		return nil, fmt.Errorf("publish resources: %w", err)
	}
	if w, ok := cfg.Family.(Watcher); ok {
		watchCtx, cancel := context.WithCancel(ctx)
		d.cancel, d.done = cancel, make(chan struct{})
		go func() {
			defer close(d.done)
			d.watch(watchCtx, w)
		}()
	}
	logger.Info("Driver started", "checkpoint", cfg.CheckpointPath, "preparedClaims", len(state.Claims))
	return d, nil
}

// Stop unregisters from the kubelet and stops publishing. ResourceSlices
// stay, as they should across a driver restart.
func (d *Driver) Stop() {
	if d.cancel != nil {
		d.cancel()
		<-d.done
	}
	if d.helper != nil {
		d.helper.Stop()
	}
}

// Republish re-reads the family's devices and updates the ResourceSlices.
func (d *Driver) Republish(ctx context.Context) error {
	resources, err := d.cfg.Family.Resources(ctx)
	if err != nil {
		metrics.Errors.WithLabelValues(d.Name(), metrics.OperationPublish, "discover").Inc()
		return fmt.Errorf("discover devices: %w", err)
	}
	if err := d.helper.PublishResources(ctx, resources); err != nil {
		metrics.Errors.WithLabelValues(d.Name(), metrics.OperationPublish, reasonOther).Inc()
		return err
	}
	d.pubMu.Lock()
	d.setPublished(resources)
	d.pubMu.Unlock()
	return nil
}

// PrepareResourceClaims implements kubeletplugin.DRAPlugin. Each claim
// succeeds or fails on its own; a failed claim leaves nothing behind.
func (d *Driver) PrepareResourceClaims(ctx context.Context, claims []*resourceapi.ResourceClaim) (map[types.UID]kubeletplugin.PrepareResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[types.UID]kubeletplugin.PrepareResult, len(claims))
	defer d.countPrepared()
	for _, claim := range claims {
		start := time.Now()
		devices, err := d.claims.prepare(ctx, claim)
		d.observe(metrics.OperationPrepare, d.claimType(resultNames(claim, d.Name())), start, err)
		if err != nil {
			err = fmt.Errorf("claim %s: %w", klog.KObj(claim), err)
		}
		out[claim.UID] = kubeletplugin.PrepareResult{Devices: devices, Err: err}
	}
	return out, nil
}

// UnprepareResourceClaims implements kubeletplugin.DRAPlugin.
func (d *Driver) UnprepareResourceClaims(ctx context.Context, claims []kubeletplugin.NamespacedObject) (map[types.UID]error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[types.UID]error, len(claims))
	defer d.countPrepared()
	for _, claim := range claims {
		start := time.Now()
		deviceType := d.claimType(checkpointNames(d.claims.state.Claims[claim.UID]))
		err := d.claims.unprepare(ctx, claim.UID)
		d.observe(metrics.OperationUnprepare, deviceType, start, err)
		if err != nil {
			out[claim.UID] = fmt.Errorf("claim %s: %w", claim.NamespacedName, err)
			continue
		}
		out[claim.UID] = nil
	}
	return out, nil
}

// HandleError implements kubeletplugin.DRAPlugin: recoverable errors are
// logged and retried by the helper; others go to OnFatal.
func (d *Driver) HandleError(ctx context.Context, err error, msg string) {
	utilruntime.HandleErrorWithContext(ctx, err, msg)
	recoverable := errors.Is(err, kubeletplugin.ErrRecoverable)
	reason := "fatal"
	if recoverable {
		reason = "recoverable"
	}
	metrics.Errors.WithLabelValues(d.Name(), metrics.OperationBackground, reason).Inc()
	if !recoverable && d.cfg.OnFatal != nil {
		d.cfg.OnFatal(fmt.Errorf("%s: %w", msg, err))
	}
}

// Name is the DRA driver name.
func (d *Driver) Name() string { return d.cfg.Family.DriverName() }
