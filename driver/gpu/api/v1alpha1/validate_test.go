package v1alpha1

import (
	"strconv"
	"testing"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict/stricttest"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptrTo[T any](v T) *T { return &v }

func mps(m MPSConfig) *GpuConfig {
	return &GpuConfig{Sharing: &Sharing{Strategy: MPS, MPS: &m}}
}

func manyLimits(n int) map[string]resource.Quantity {
	m := make(map[string]resource.Quantity, n)
	for i := range n {
		m[strconv.Itoa(i)] = resource.MustParse("1Gi")
	}
	return m
}

func TestValidate(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name string
		cfg  *GpuConfig
		// want lists substrings of the error, each with its path; none for
		// a valid configuration.
		want []string
	}{
		{name: "default", cfg: DefaultGpuConfig()},
		{name: "empty", cfg: &GpuConfig{}},
		{name: "nil", cfg: nil, want: []string{"nil GpuConfig"}},
		{name: "wrong apiVersion", cfg: &GpuConfig{TypeMeta: metav1.TypeMeta{APIVersion: "gpu.hadron.dev/v1"}},
			want: []string{`apiVersion: unsupported apiVersion "gpu.hadron.dev/v1" (want gpu.hadron.dev/v1alpha1)`}},
		{name: "wrong kind", cfg: &GpuConfig{TypeMeta: metav1.TypeMeta{Kind: "GPUConfig"}},
			want: []string{`kind: unsupported kind "GPUConfig" (want GpuConfig)`}},
		{name: "strategy missing", cfg: &GpuConfig{Sharing: &Sharing{}},
			want: []string{"sharing.strategy: required: one of TimeSlicing, MPS"}},
		{name: "strategy unknown", cfg: &GpuConfig{Sharing: &Sharing{Strategy: "mps"}},
			want: []string{`sharing.strategy: unknown strategy "mps": want one of TimeSlicing, MPS`}},
		{name: "unknown strategy does not also blame the sections", cfg: &GpuConfig{Sharing: &Sharing{Strategy: "x", MPS: &MPSConfig{}}},
			want: []string{`sharing.strategy: unknown strategy "x"`}},
		{name: "time-slicing without section", cfg: &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing}}},
		{name: "every interval", cfg: &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing, TimeSlicing: &TimeSlicingConfig{Interval: LongTimeSlice}}}},
		{name: "empty interval", cfg: &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing, TimeSlicing: &TimeSlicingConfig{}}}},
		{name: "unknown interval", cfg: &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing, TimeSlicing: &TimeSlicingConfig{Interval: "long"}}},
			want: []string{`sharing.timeSlicing.interval: unknown interval "long": want one of Default, Short, Medium, Long`}},
		{name: "mps section with time-slicing", cfg: &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing, MPS: &MPSConfig{}}},
			want: []string{"sharing.mps: only allowed with strategy MPS (strategy is TimeSlicing)"}},
		{name: "time-slicing section with mps", cfg: &GpuConfig{Sharing: &Sharing{Strategy: MPS, TimeSlicing: &TimeSlicingConfig{}}},
			want: []string{"sharing.timeSlicing: only allowed with strategy TimeSlicing (strategy is MPS)"}},
		{name: "mps without section", cfg: &GpuConfig{Sharing: &Sharing{Strategy: MPS}}},
		{name: "mps full", cfg: mps(MPSConfig{
			DefaultActiveThreadPercentage:      ptrTo(100),
			DefaultPinnedDeviceMemoryLimit:     ptrTo(q("1Mi")),
			DefaultPerDevicePinnedMemoryLimits: map[string]resource.Quantity{"0": q("10Gi"), "GPU-6f1e2d3c-aaaa-bbbb-cccc-0123456789ab": q("2G"), "MIG-GPU-6f1e2d3c/1/0": q("1Gi")},
		})},
		{name: "thread percentage 1", cfg: mps(MPSConfig{DefaultActiveThreadPercentage: ptrTo(1)})},
		{name: "thread percentage 0", cfg: mps(MPSConfig{DefaultActiveThreadPercentage: ptrTo(0)}),
			want: []string{"sharing.mps.defaultActiveThreadPercentage: 0 must be between 1 and 100"}},
		{name: "thread percentage 150", cfg: mps(MPSConfig{DefaultActiveThreadPercentage: ptrTo(150)}),
			want: []string{"sharing.mps.defaultActiveThreadPercentage: 150 must be between 1 and 100"}},
		{name: "pinned limit zero", cfg: mps(MPSConfig{DefaultPinnedDeviceMemoryLimit: ptrTo(q("0"))}),
			want: []string{"sharing.mps.defaultPinnedDeviceMemoryLimit: 0 must be a whole number of bytes of at least 1Mi"}},
		{name: "pinned limit negative", cfg: mps(MPSConfig{DefaultPinnedDeviceMemoryLimit: ptrTo(q("-1Gi"))}),
			want: []string{"sharing.mps.defaultPinnedDeviceMemoryLimit: -1Gi must be"}},
		{name: "pinned limit below a megabyte", cfg: mps(MPSConfig{DefaultPinnedDeviceMemoryLimit: ptrTo(q("1000Ki"))}),
			want: []string{"sharing.mps.defaultPinnedDeviceMemoryLimit: 1000Ki must be"}},
		{name: "pinned limit fractional bytes", cfg: mps(MPSConfig{DefaultPinnedDeviceMemoryLimit: ptrTo(q("10485760500m"))}),
			want: []string{"sharing.mps.defaultPinnedDeviceMemoryLimit: 10485760500m must be a whole number of bytes"}},
		{name: "per-device bad key", cfg: mps(MPSConfig{DefaultPerDevicePinnedMemoryLimits: map[string]resource.Quantity{"0=1G,1": q("1Gi")}}),
			want: []string{`sharing.mps.defaultPerDevicePinnedMemoryLimits["0=1G,1"]: key must be a device index`}},
		{name: "per-device leading zero", cfg: mps(MPSConfig{DefaultPerDevicePinnedMemoryLimits: map[string]resource.Quantity{"01": q("1Gi")}}),
			want: []string{"sharing.mps.defaultPerDevicePinnedMemoryLimits[01]: key must be"}},
		{name: "per-device bad value", cfg: mps(MPSConfig{DefaultPerDevicePinnedMemoryLimits: map[string]resource.Quantity{"1": q("0")}}),
			want: []string{"sharing.mps.defaultPerDevicePinnedMemoryLimits[1]: 0 must be"}},
		{name: "too many per-device limits", cfg: mps(MPSConfig{DefaultPerDevicePinnedMemoryLimits: manyLimits(MaxPerDeviceLimits + 1)}),
			want: []string{"sharing.mps.defaultPerDevicePinnedMemoryLimits: has 129 entries, more than the 128 devices"}},
		{name: "per-device limits at the bound", cfg: mps(MPSConfig{DefaultPerDevicePinnedMemoryLimits: manyLimits(MaxPerDeviceLimits)})},
		{name: "all problems at once, in order",
			cfg: &GpuConfig{TypeMeta: metav1.TypeMeta{Kind: "Other"}, Sharing: &Sharing{Strategy: MPS, MPS: &MPSConfig{
				DefaultActiveThreadPercentage:      ptrTo(-1),
				DefaultPerDevicePinnedMemoryLimits: map[string]resource.Quantity{"b": q("1Gi"), "a": q("1Gi")},
			}}},
			want: []string{"kind:", "sharing.mps.defaultActiveThreadPercentage:", "defaultPerDevicePinnedMemoryLimits[a]", "defaultPerDevicePinnedMemoryLimits[b]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			stricttest.CheckErr(t, err, tt.want)
		})
	}
}

func TestNormalize(t *testing.T) {
	c := &GpuConfig{}
	c.Normalize()
	if c.APIVersion != APIVersion || c.Kind != GpuConfigKind || c.Sharing != nil {
		t.Fatalf("empty config normalized to %+v; want type filled and Sharing left to the driver", c)
	}

	c = &GpuConfig{Sharing: &Sharing{Strategy: TimeSlicing}}
	c.Normalize()
	if c.Sharing.TimeSlicing == nil || c.Sharing.TimeSlicing.Interval != DefaultTimeSlice || c.Sharing.MPS != nil {
		t.Fatalf("time-slicing normalized to %+v", c.Sharing)
	}

	c = &GpuConfig{Sharing: &Sharing{Strategy: MPS}}
	c.Normalize()
	if c.Sharing.MPS == nil || c.Sharing.TimeSlicing != nil {
		t.Fatalf("MPS normalized to %+v", c.Sharing)
	}

	// A mismatched section is left for Validate to report, not dropped.
	c = &GpuConfig{Sharing: &Sharing{Strategy: MPS, TimeSlicing: &TimeSlicingConfig{}}}
	c.Normalize()
	if c.Sharing.TimeSlicing == nil || c.Validate() == nil {
		t.Fatal("Normalize hid a mismatched section")
	}

	var nilCfg *GpuConfig
	nilCfg.Normalize() // must not panic
}

func TestDefaultGpuConfig(t *testing.T) {
	c := DefaultGpuConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Sharing.Strategy != TimeSlicing || c.Sharing.TimeSlicing.Interval != DefaultTimeSlice {
		t.Fatalf("default is %+v", c.Sharing)
	}
	if DefaultGpuConfig() == c || DefaultGpuConfig().Sharing == c.Sharing {
		t.Fatal("DefaultGpuConfig must return a fresh value each time")
	}
}

func TestTimeSliceLevel(t *testing.T) {
	for i, want := range intervals {
		if got, ok := want.Level(); !ok || got != i {
			t.Errorf("%s.Level() = %d, %v; want %d", want, got, ok, i)
		}
	}
	if _, ok := TimeSliceInterval("").Level(); !ok {
		t.Error("empty interval should be Default")
	}
	if _, ok := TimeSliceInterval("default").Level(); ok {
		t.Error("intervals are case-sensitive")
	}
}
