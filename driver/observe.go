package driver

import (
	"errors"
	"strings"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"

	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/driver/metrics"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Reasons a prepare or unprepare failed, as counted in the errors metric.
const (
	reasonNotAllocated   = "not_allocated"
	reasonDeviceInUse    = "device_in_use"
	reasonCheckpoint     = "checkpoint"
	reasonDeviceSetup    = "device_setup"
	reasonDeviceTeardown = "device_teardown"
	reasonCDI            = "cdi"
	reasonRollBack       = "rollback"
	reasonOther          = "other"
)

// mixedType labels a claim whose devices are of several types.
const mixedType = "mixed"

// failure tags an error with the reason the errors metric counts it under.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// fail tags err with reason; a nil err stays nil.
func fail(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &failure{reason: reason, err: err}
}

// reasonOf is the first reason err was tagged with.
func reasonOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.reason
	}
	return reasonOther
}

// deviceType is the metrics' device type: a GPU device's own type (gpu,
// mig, shared), else the family's short name (cpu, nic).
func deviceType(driverName string, d *resourceapi.Device) string {
	if a, ok := d.Attributes[attrs.GPUType]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	short, _, _ := strings.Cut(driverName, ".")
	return short
}

// indexDevices maps each published device's name to the device.
func indexDevices(resources resourceslice.DriverResources) map[string]*resourceapi.Device {
	index := map[string]*resourceapi.Device{}
	for _, pool := range resources.Pools {
		for _, slice := range pool.Slices {
			for i := range slice.Devices {
				index[slice.Devices[i].Name] = &slice.Devices[i]
			}
		}
	}
	return index
}

// typeOf is the type of a published device, or the family's short name
// for a device no longer published.
func (d *Driver) typeOf(name string) string {
	d.pubMu.Lock()
	dev := d.byName[name]
	d.pubMu.Unlock()
	if dev == nil {
		dev = &resourceapi.Device{}
	}
	return deviceType(d.Name(), dev)
}

// claimType is the one type of the named devices, mixedType when they
// differ, or the family's short name when there are none.
func (d *Driver) claimType(names []string) string {
	t := ""
	for _, n := range names {
		switch dt := d.typeOf(n); {
		case t == "":
			t = dt
		case t != dt:
			return mixedType
		}
	}
	if t == "" {
		return deviceType(d.Name(), &resourceapi.Device{})
	}
	return t
}

func resultNames(claim *resourceapi.ResourceClaim, driverName string) []string {
	if claim.Status.Allocation == nil {
		return nil
	}
	var names []string
	for _, r := range claim.Status.Allocation.Devices.Results {
		if r.Driver == driverName {
			names = append(names, r.Device)
		}
	}
	return names
}

func checkpointNames(entry *checkpoint.Claim) []string {
	if entry == nil {
		return nil
	}
	names := make([]string, 0, len(entry.Devices))
	for _, dev := range entry.Devices {
		names = append(names, dev.Device)
	}
	return names
}

// observe records one prepare or unprepare: its latency and, on failure,
// its reason.
func (d *Driver) observe(operation, deviceType string, start time.Time, err error) {
	hist, result := metrics.PrepareDuration, metrics.ResultSuccess
	if operation == metrics.OperationUnprepare {
		hist = metrics.UnprepareDuration
	}
	if err != nil {
		result = metrics.ResultError
		metrics.Errors.WithLabelValues(d.Name(), operation, reasonOf(err)).Inc()
	}
	hist.WithLabelValues(d.Name(), deviceType, result).Observe(time.Since(start).Seconds())
}

// setPublished records what was published and counts it by type. Callers
// hold pubMu.
func (d *Driver) setPublished(resources resourceslice.DriverResources) {
	d.published = resources
	d.byName = indexDevices(resources)
	counts := map[string]float64{}
	for _, dev := range d.byName {
		counts[deviceType(d.Name(), dev)]++
	}
	d.setGauge(metrics.StatePublished, counts)
}

// countPrepared counts the devices of completed prepares by type. Callers
// hold mu.
func (d *Driver) countPrepared() {
	counts := map[string]float64{}
	for _, c := range d.claims.state.Claims {
		if c.State != checkpoint.PrepareCompleted {
			continue
		}
		for _, dev := range c.Devices {
			counts[d.typeOf(dev.Device)]++
		}
	}
	d.setGauge(metrics.StatePrepared, counts)
}

// countUnhealthy counts the devices a health report calls unhealthy.
func (d *Driver) countUnhealthy(report kubeletplugin.DeviceHealthReport) {
	counts := map[string]float64{}
	for _, h := range report.Devices {
		if h.Health == kubeletplugin.HealthStatusUnhealthy {
			counts[d.typeOf(h.DeviceName)]++
		}
	}
	d.setGauge(metrics.StateUnhealthy, counts)
}

// setGauge sets the per-type device counts of one state, zeroing the
// types this driver counted before but not now, so that a count that
// falls to nothing reads 0 rather than its last value.
func (d *Driver) setGauge(state string, counts map[string]float64) {
	d.gaugeMu.Lock()
	defer d.gaugeMu.Unlock()
	if d.gaugeTypes == nil {
		d.gaugeTypes = map[string]bool{}
	}
	for t := range counts {
		d.gaugeTypes[t] = true
	}
	for t := range d.gaugeTypes {
		metrics.Devices.WithLabelValues(d.cfg.NodeName, d.Name(), t, state).Set(counts[t])
	}
}
