package driver

import (
	"context"
	"testing"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
)

// countingFamily counts discoveries.
type countingFamily struct {
	fakeFamily
	resources int
}

func (f *countingFamily) Resources(context.Context) (resourceslice.DriverResources, error) {
	f.resources++
	return resourceslice.DriverResources{}, nil
}

func TestHealthReportIsOfPublishedDevices(t *testing.T) {
	f := &countingFamily{}
	d := &Driver{cfg: Config{Family: f, HealthInterval: time.Second}}
	d.published = resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		"n1": {Slices: SplitSlices([]resourceapi.Device{{Name: "a"}, {Name: "b"}})},
	}}
	for range 3 {
		report, err := d.healthReport(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Devices) != 2 {
			t.Fatalf("report %+v, want both published devices", report.Devices)
		}
		for _, h := range report.Devices {
			if h.PoolName != "n1" || h.Health != kubeletplugin.HealthStatusHealthy || h.HealthCheckTimeout != 3*time.Second {
				t.Errorf("device health %+v", h)
			}
		}
	}
	if f.resources != 0 {
		t.Errorf("the family discovered its devices %d times for health reports", f.resources)
	}
}
