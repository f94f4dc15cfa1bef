package driver

import (
	"context"
	"time"

	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/driver/metrics"
)

// HealthChecker is implemented by families that can tell a device's health
// (for example from NVML XID events). Families without it report every
// published device as healthy.
type HealthChecker interface {
	DeviceHealth(ctx context.Context) ([]kubeletplugin.DeviceHealth, error)
}

// Watcher is implemented by families that notice device changes (health
// events) by themselves. Watch runs until ctx ends and calls changed after
// each change; the driver then republishes its ResourceSlices and tells
// the kubelet.
type Watcher interface {
	Watch(ctx context.Context, changed func()) error
}

// watch runs a Watcher family for the driver's lifetime.
func (d *Driver) watch(ctx context.Context, w Watcher) {
	logger := klog.FromContext(ctx)
	err := w.Watch(ctx, func() {
		if err := d.Republish(ctx); err != nil {
			logger.Error(err, "Republishing after a device change failed")
		}
		d.pubMu.Lock()
		close(d.healthChanged)
		d.healthChanged = make(chan struct{})
		d.pubMu.Unlock()
	})
	if err != nil && ctx.Err() == nil {
		logger.Error(err, "Watching devices stopped")
	}
}

// healthSignal is closed at the next health change.
func (d *Driver) healthSignal() <-chan struct{} {
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	return d.healthChanged
}

// WatchHealthStatus implements kubeletplugin.DRAPlugin. It sends a full
// report at once, after every change, and every HealthInterval, well
// inside the kubelet's staleness timeout.
func (d *Driver) WatchHealthStatus(ctx context.Context, reports chan<- kubeletplugin.DeviceHealthReport) error {
	ticker := time.NewTicker(d.cfg.HealthInterval)
	defer ticker.Stop()
	for {
		changed := d.healthSignal()
		report, err := d.healthReport(ctx)
		if err != nil {
			metrics.Errors.WithLabelValues(d.Name(), metrics.OperationHealth, reasonOther).Inc()
			klog.FromContext(ctx).Error(err, "Device health check failed; reporting nothing this round")
		} else {
			d.countUnhealthy(report)
			select {
			case <-ctx.Done():
				return nil
			case reports <- report:
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-changed:
		}
	}
}

// healthReport asks a HealthChecker family, or else reports every
// published device healthy. The published devices are the ones the
// kubelet knows; discovering them again every round would only repeat
// the family's work (and its logs) for the same answer.
func (d *Driver) healthReport(ctx context.Context) (kubeletplugin.DeviceHealthReport, error) {
	if hc, ok := d.cfg.Family.(HealthChecker); ok {
		devices, err := hc.DeviceHealth(ctx)
		return kubeletplugin.DeviceHealthReport{Devices: devices}, err
	}
	d.pubMu.Lock()
	resources := d.published
	d.pubMu.Unlock()
	now := time.Now()
	var report kubeletplugin.DeviceHealthReport
	for poolName, pool := range resources.Pools {
		for _, slice := range pool.Slices {
			for _, dev := range slice.Devices {
				report.Devices = append(report.Devices, kubeletplugin.DeviceHealth{
					PoolName: poolName, DeviceName: dev.Name, Health: kubeletplugin.HealthStatusHealthy,
					LastUpdated: now, HealthCheckTimeout: 3 * d.cfg.HealthInterval,
				})
			}
		}
	}
	return report, nil
}
