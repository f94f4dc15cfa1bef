package driver

import (
	"errors"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	basemetrics "k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/driver/metrics"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// observedDriver is a driver on a fake family whose published devices
// are MIG partitions ("mig-*") and whole GPUs ("gpu-*").
func observedDriver(t *testing.T, node string, f *fakeFamily) *Driver {
	t.Helper()
	metrics.Register()
	d := &Driver{cfg: Config{Family: f, NodeName: node}, claims: newTestClaims(t, f)}
	typed := func(name, typ string) resourceapi.Device {
		return resourceapi.Device{Name: name, Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{attrs.GPUType: {StringValue: ptr.To(typ)}}}
	}
	d.pubMu.Lock()
	d.setPublished(resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{node: {Slices: SplitSlices([]resourceapi.Device{
		typed("mig-a", attrs.GPUTypeMIG), typed("mig-b", attrs.GPUTypeMIG), typed("gpu-a", attrs.GPUTypeWhole),
	})}}})
	d.pubMu.Unlock()
	return d
}

// observations is how many latencies a histogram holds for labels.
func observations(t *testing.T, h *basemetrics.HistogramVec, labels ...string) uint64 {
	t.Helper()
	n, err := testutil.GetHistogramMetricCount(h.WithLabelValues(labels...))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func gauge(t *testing.T, labels ...string) float64 {
	t.Helper()
	v, err := testutil.GetGaugeMetricValue(metrics.Devices.WithLabelValues(labels...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func counter(t *testing.T, labels ...string) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(metrics.Errors.WithLabelValues(labels...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPrepareMetrics drives prepares and unprepares through the driver
// and reads the latency histograms, device gauges and error counters.
func TestPrepareMetrics(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := &fakeFamily{}
	d := observedDriver(t, "metrics-node", f)
	migOK := observations(t, metrics.PrepareDuration, testDriver, attrs.GPUTypeMIG, metrics.ResultSuccess)
	mixedOK := observations(t, metrics.PrepareDuration, testDriver, mixedType, metrics.ResultSuccess)
	wholeErr := observations(t, metrics.PrepareDuration, testDriver, attrs.GPUTypeWhole, metrics.ResultError)
	inUse := counter(t, testDriver, metrics.OperationPrepare, reasonDeviceInUse)
	setup := counter(t, testDriver, metrics.OperationPrepare, reasonDeviceSetup)

	if gauge(t, "metrics-node", testDriver, attrs.GPUTypeMIG, metrics.StatePublished) != 2 ||
		gauge(t, "metrics-node", testDriver, attrs.GPUTypeWhole, metrics.StatePublished) != 1 {
		t.Errorf("published gauges: mig %v, gpu %v; want 2 and 1",
			gauge(t, "metrics-node", testDriver, attrs.GPUTypeMIG, metrics.StatePublished),
			gauge(t, "metrics-node", testDriver, attrs.GPUTypeWhole, metrics.StatePublished))
	}

	results, err := d.PrepareResourceClaims(ctx, []*resourceapi.ResourceClaim{
		claim("u1", "one-mig", "mig-a"),
		claim("u2", "mixed", "mig-b", "gpu-a"),
		claim("u3", "taken", "gpu-a"), // gpu-a is already u2's
	})
	if err != nil {
		t.Fatal(err)
	}
	if results["u1"].Err != nil || results["u2"].Err != nil || results["u3"].Err == nil {
		t.Fatalf("prepare results %+v: want u1 and u2 prepared, u3 refused", results)
	}
	if got := observations(t, metrics.PrepareDuration, testDriver, attrs.GPUTypeMIG, metrics.ResultSuccess) - migOK; got != 1 {
		t.Errorf("successful MIG prepares observed: %d, want 1", got)
	}
	if got := observations(t, metrics.PrepareDuration, testDriver, mixedType, metrics.ResultSuccess) - mixedOK; got != 1 {
		t.Errorf("successful mixed prepares observed: %d, want 1", got)
	}
	if got := observations(t, metrics.PrepareDuration, testDriver, attrs.GPUTypeWhole, metrics.ResultError) - wholeErr; got != 1 {
		t.Errorf("failed whole-GPU prepares observed: %d, want 1", got)
	}
	if got := counter(t, testDriver, metrics.OperationPrepare, reasonDeviceInUse) - inUse; got != 1 {
		t.Errorf("device_in_use errors: %v, want 1", got)
	}
	if gauge(t, "metrics-node", testDriver, attrs.GPUTypeMIG, metrics.StatePrepared) != 2 ||
		gauge(t, "metrics-node", testDriver, attrs.GPUTypeWhole, metrics.StatePrepared) != 1 {
		t.Errorf("prepared gauges after prepare: mig %v, gpu %v; want 2 and 1",
			gauge(t, "metrics-node", testDriver, attrs.GPUTypeMIG, metrics.StatePrepared),
			gauge(t, "metrics-node", testDriver, attrs.GPUTypeWhole, metrics.StatePrepared))
	}

	f.prepareErr = errors.New("no MIG slot free")
	if res, _ := d.PrepareResourceClaims(ctx, []*resourceapi.ResourceClaim{claim("u4", "late", "gpu-b")}); res["u4"].Err == nil {
		t.Fatal("prepare with a failing family succeeded")
	}
	if got := counter(t, testDriver, metrics.OperationPrepare, reasonDeviceSetup) - setup; got != 1 {
		t.Errorf("device_setup errors: %v, want 1", got)
	}

	migUnprep := observations(t, metrics.UnprepareDuration, testDriver, attrs.GPUTypeMIG, metrics.ResultSuccess)
	if _, err := d.UnprepareResourceClaims(ctx, []kubeletplugin.NamespacedObject{{UID: "u1"}, {UID: "u2"}}); err != nil {
		t.Fatal(err)
	}
	if got := observations(t, metrics.UnprepareDuration, testDriver, attrs.GPUTypeMIG, metrics.ResultSuccess) - migUnprep; got != 1 {
		t.Errorf("MIG unprepares observed: %d, want 1", got)
	}
	for _, typ := range []string{attrs.GPUTypeMIG, attrs.GPUTypeWhole} {
		if v := gauge(t, "metrics-node", testDriver, typ, metrics.StatePrepared); v != 0 {
			t.Errorf("prepared %s devices after unprepare: %v, want 0", typ, v)
		}
	}
}

// TestUnhealthyGauge counts the devices a health report calls unhealthy,
// and forgets them once healthy again.
func TestUnhealthyGauge(t *testing.T) {
	d := observedDriver(t, "health-node", &fakeFamily{})
	d.countUnhealthy(kubeletplugin.DeviceHealthReport{Devices: []kubeletplugin.DeviceHealth{
		{DeviceName: "mig-a", Health: kubeletplugin.HealthStatusUnhealthy},
		{DeviceName: "gpu-a", Health: kubeletplugin.HealthStatusHealthy},
	}})
	if v := gauge(t, "health-node", testDriver, attrs.GPUTypeMIG, metrics.StateUnhealthy); v != 1 {
		t.Errorf("unhealthy MIG devices: %v, want 1", v)
	}
	d.countUnhealthy(kubeletplugin.DeviceHealthReport{})
	if v := gauge(t, "health-node", testDriver, attrs.GPUTypeMIG, metrics.StateUnhealthy); v != 0 {
		t.Errorf("unhealthy MIG devices after recovery: %v, want 0", v)
	}
}

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), reasonOther},
		{fail(reasonCDI, errors.New("disk full")), reasonCDI},
		{errors.Join(fail(reasonDeviceSetup, errors.New("a")), errors.New("roll back: b")), reasonDeviceSetup},
		{fail(reasonRollBack, fail(reasonDeviceTeardown, errors.New("busy"))), reasonRollBack},
	} {
		if got := reasonOf(tc.err); got != tc.want {
			t.Errorf("reasonOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if fail(reasonCDI, nil) != nil {
		t.Error("fail(reason, nil) is not nil")
	}
}

func TestDeviceType(t *testing.T) {
	if got := deviceType("cpu.hadron.dev", &resourceapi.Device{}); got != "cpu" {
		t.Errorf("cpu device type %q", got)
	}
	shared := &resourceapi.Device{Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{attrs.GPUType: {StringValue: ptr.To(attrs.GPUTypeShared)}}}
	if got := deviceType(attrs.GPUDriver, shared); got != attrs.GPUTypeShared {
		t.Errorf("shared GPU device type %q", got)
	}
}
