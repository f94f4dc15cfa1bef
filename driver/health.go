package driver

import (
	"context"
	"time"

	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/klog/v2"
)

// HealthChecker is implemented by families that can tell a device's health
// (for example from NVML XID events). Families without it report every
// published device as healthy.
type HealthChecker interface {
	DeviceHealth(ctx context.Context) ([]kubeletplugin.DeviceHealth, error)
}

// WatchHealthStatus implements kubeletplugin.DRAPlugin. It sends a full
// report at once and then every HealthInterval, well inside the kubelet's
// staleness timeout.
func (d *Driver) WatchHealthStatus(ctx context.Context, reports chan<- kubeletplugin.DeviceHealthReport) error {
	ticker := time.NewTicker(d.cfg.HealthInterval)
	defer ticker.Stop()
	for {
		report, err := d.healthReport(ctx)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Device health check failed; reporting nothing this round")
		} else {
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
		}
	}
}

func (d *Driver) healthReport(ctx context.Context) (kubeletplugin.DeviceHealthReport, error) {
	if hc, ok := d.cfg.Family.(HealthChecker); ok {
		devices, err := hc.DeviceHealth(ctx)
		return kubeletplugin.DeviceHealthReport{Devices: devices}, err
	}
	resources, err := d.cfg.Family.Resources(ctx)
	if err != nil {
		return kubeletplugin.DeviceHealthReport{}, err
	}
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
