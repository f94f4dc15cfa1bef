package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// GroupName is the API group of this configuration, which is also the
	// name of the DRA driver that reads it.
	GroupName = "gpu.hadron.dev"
	// Version is the version of the API in this package.
	Version = "v1alpha1"
	// APIVersion is what a GpuConfig's apiVersion must be.
	APIVersion = GroupName + "/" + Version
	// GpuConfigKind is what a GpuConfig's kind must be.
	GpuConfigKind = "GpuConfig"
)

// SchemeGroupVersion is the group and version of this API.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// GpuConfig configures the devices a claim gets from gpu.hadron.dev:
// whole GPUs, MIG devices and shares of shared GPUs alike.
//
// A minimal GpuConfig is
//
//	apiVersion: gpu.hadron.dev/v1alpha1
//	kind: GpuConfig
//
// which changes nothing: the driver's defaults apply.
type GpuConfig struct {
	// TypeMeta must be apiVersion gpu.hadron.dev/v1alpha1, kind GpuConfig.
	metav1.TypeMeta `json:",inline"`

	// Sharing says how processes share the claim's devices. When it is
	// omitted the driver applies the default the administrator configured
	// (time-slicing, unless they chose MPS).
	Sharing *Sharing `json:"sharing,omitempty"`
}

// SharingStrategy is how processes share a GPU.
type SharingStrategy string

const (
	// TimeSlicing lets processes take turns on the GPU, each getting all
	// of it for one time slice. Processes are isolated from each other's
	// memory, but a heavy process slows the others down.
	TimeSlicing SharingStrategy = "TimeSlicing"
	// MPS runs the processes' kernels concurrently through NVIDIA's
	// Multi-Process Service, which can cap the compute (active threads)
	// and the pinned device memory of each process.
	MPS SharingStrategy = "MPS"
)

// Sharing says how processes share a claim's devices. Set the section
// matching Strategy, or none to take its defaults; setting the other one
// is an error.
type Sharing struct {
	// Strategy is TimeSlicing or MPS. Required.
	Strategy SharingStrategy `json:"strategy"`
	// TimeSlicing tunes time-slicing; only allowed with strategy
	// TimeSlicing.
	TimeSlicing *TimeSlicingConfig `json:"timeSlicing,omitempty"`
	// MPS tunes MPS; only allowed with strategy MPS.
	MPS *MPSConfig `json:"mps,omitempty"`
}

// TimeSliceInterval is how long a process keeps the GPU before the next
// one gets its turn. The values are those of
// `nvidia-smi compute-policy --set-timeslice`: Default (0), Short (1),
// Medium (2) and Long (3). Longer slices waste less time switching
// contexts, shorter ones keep interactive work responsive.
type TimeSliceInterval string

const (
	DefaultTimeSlice TimeSliceInterval = "Default"
	ShortTimeSlice   TimeSliceInterval = "Short"
	MediumTimeSlice  TimeSliceInterval = "Medium"
	LongTimeSlice    TimeSliceInterval = "Long"
)

// Level is the interval's number for `nvidia-smi compute-policy
// --set-timeslice`; ok is false for an unknown interval. An empty interval
// is Default.
func (i TimeSliceInterval) Level() (level int, ok bool) {
	switch i {
	case DefaultTimeSlice, "":
		return 0, true
	case ShortTimeSlice:
		return 1, true
	case MediumTimeSlice:
		return 2, true
	case LongTimeSlice:
		return 3, true
	}
	return 0, false
}

// TimeSlicingConfig tunes time-slicing.
type TimeSlicingConfig struct {
	// Interval is Default, Short, Medium or Long. Default if omitted.
	Interval TimeSliceInterval `json:"interval,omitempty"`
}

// MPSConfig sets the limits MPS applies to each process (each CUDA
// client) of the claim. An omitted limit is derived from the share the
// claim was allocated on a shared GPU, and is not applied otherwise.
type MPSConfig struct {
	// DefaultActiveThreadPercentage caps the share of the GPU's threads
	// (streaming multiprocessors) a process can use, from 1 to 100
	// (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE).
	DefaultActiveThreadPercentage *int `json:"defaultActiveThreadPercentage,omitempty"`
	// DefaultPinnedDeviceMemoryLimit caps the device memory a process can
	// allocate on each GPU, e.g. 10Gi. At least 1Mi: MPS takes limits in
	// whole megabytes (CUDA_MPS_PINNED_DEVICE_MEM_LIMIT).
	DefaultPinnedDeviceMemoryLimit *resource.Quantity `json:"defaultPinnedDeviceMemoryLimit,omitempty"`
	// DefaultPerDevicePinnedMemoryLimits overrides
	// DefaultPinnedDeviceMemoryLimit for single GPUs, keyed by the GPU's
	// index as the container sees it ("0", "1", ...) or by its UUID
	// ("GPU-..." or "MIG-..."). The same rules apply to the limits.
	DefaultPerDevicePinnedMemoryLimits map[string]resource.Quantity `json:"defaultPerDevicePinnedMemoryLimits,omitempty"`
}

// DefaultGpuConfig is the configuration of a claim that leaves everything
// to the defaults of this API: time-slicing with the Default interval. The
// driver applies the administrator's defaults instead where they differ.
func DefaultGpuConfig() *GpuConfig {
	return &GpuConfig{
		TypeMeta: metav1.TypeMeta{APIVersion: APIVersion, Kind: GpuConfigKind},
		Sharing: &Sharing{
			Strategy:    TimeSlicing,
			TimeSlicing: &TimeSlicingConfig{Interval: DefaultTimeSlice},
		},
	}
}

// Normalize fills in what may be omitted: apiVersion and kind, the
// section of the chosen sharing strategy, and the Default time-slice
// interval. It leaves a missing Sharing missing, because that means "the
// administrator's default", which only the driver knows. Normalize is
// idempotent and does not validate; call Validate after it.
func (c *GpuConfig) Normalize() {
	if c == nil {
		return
	}
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = GpuConfigKind
	}
	s := c.Sharing
	if s == nil {
		return
	}
	switch s.Strategy {
	case TimeSlicing:
		if s.TimeSlicing == nil {
			s.TimeSlicing = &TimeSlicingConfig{}
		}
		if s.TimeSlicing.Interval == "" {
			s.TimeSlicing.Interval = DefaultTimeSlice
		}
	case MPS:
		if s.MPS == nil {
			s.MPS = &MPSConfig{}
		}
	}
}
