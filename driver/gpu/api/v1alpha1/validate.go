package v1alpha1

import (
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict"
)

// FieldError is a problem with one field of a GpuConfig; its Path names
// the field, e.g. "sharing.mps.defaultActiveThreadPercentage". Every error
// Decode and Validate return is a *FieldError or an ErrorList of them, so
// errors.As finds one.
type FieldError = strict.FieldError

// ErrorList is several problems, reported together so that they can be
// fixed together.
type ErrorList = strict.ErrorList

var (
	strategies = []SharingStrategy{TimeSlicing, MPS}
	intervals  = []TimeSliceInterval{DefaultTimeSlice, ShortTimeSlice, MediumTimeSlice, LongTimeSlice}

	// deviceIndexRE and deviceUUIDRE are the keys of per-device limits.
	// The driver writes them into CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, a list
	// of "<device>=<limit>" separated by commas, so they must not hold
	// '=' or ','.
	deviceIndexRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,3})$`)
	deviceUUIDRE  = regexp.MustCompile(`^(GPU|MIG)-[0-9A-Za-z][0-9A-Za-z/-]{0,127}$`)
)

// MaxPerDeviceLimits bounds DefaultPerDevicePinnedMemoryLimits: more GPUs
// and MIG devices than any node has, few enough to keep errors readable.
const MaxPerDeviceLimits = 128

// minPinnedLimit is the smallest MPS pinned memory limit: MPS takes the
// limit in whole megabytes, so anything smaller would become 0.
var minPinnedLimit = resource.MustParse("1Mi")

// Validate reports every problem of the configuration, each with its field
// path. It accepts what Normalize would fill in (an empty apiVersion, kind
// or interval, a missing strategy section).
func (c *GpuConfig) Validate() error {
	if c == nil {
		return strict.Errorf("", "no configuration (nil GpuConfig)")
	}
	var errs ErrorList
	if c.APIVersion != "" && c.APIVersion != APIVersion {
		errs.Add("apiVersion", "unsupported apiVersion %q (want %s)", c.APIVersion, APIVersion)
	}
	if c.Kind != "" && c.Kind != GpuConfigKind {
		errs.Add("kind", "unsupported kind %q (want %s)", c.Kind, GpuConfigKind)
	}
	if c.Sharing != nil {
		validateSharing(c.Sharing, "sharing", &errs)
	}
	return errs.Err()
}

func validateSharing(s *Sharing, path string, errs *ErrorList) {
	switch s.Strategy {
	case "":
		errs.Add(strict.Child(path, "strategy"), "required: one of %s", list(strategies))
	case TimeSlicing, MPS:
		// A section for the other strategy would be ignored; say so rather
		// than let someone believe their MPS limits apply.
		if s.TimeSlicing != nil && s.Strategy != TimeSlicing {
			errs.Add(strict.Child(path, "timeSlicing"), "only allowed with strategy %s (strategy is %s); remove it or change the strategy", TimeSlicing, s.Strategy)
		}
		if s.MPS != nil && s.Strategy != MPS {
			errs.Add(strict.Child(path, "mps"), "only allowed with strategy %s (strategy is %s); remove it or change the strategy", MPS, s.Strategy)
		}
	default:
		errs.Add(strict.Child(path, "strategy"), "unknown strategy %q: want one of %s (case-sensitive)", s.Strategy, list(strategies))
	}
	if s.TimeSlicing != nil {
		p := strict.Child(strict.Child(path, "timeSlicing"), "interval")
		if _, ok := s.TimeSlicing.Interval.Level(); !ok {
			errs.Add(p, "unknown interval %q: want one of %s", s.TimeSlicing.Interval, list(intervals))
		}
	}
	if s.MPS != nil {
		validateMPS(s.MPS, strict.Child(path, "mps"), errs)
	}
}

func validateMPS(m *MPSConfig, path string, errs *ErrorList) {
	if p := m.DefaultActiveThreadPercentage; p != nil && (*p < 1 || *p > 100) {
		errs.Add(strict.Child(path, "defaultActiveThreadPercentage"), "%d must be between 1 and 100", *p)
	}
	if q := m.DefaultPinnedDeviceMemoryLimit; q != nil {
		validatePinnedLimit(*q, strict.Child(path, "defaultPinnedDeviceMemoryLimit"), errs)
	}
	limits := strict.Child(path, "defaultPerDevicePinnedMemoryLimits")
	if n := len(m.DefaultPerDevicePinnedMemoryLimits); n > MaxPerDeviceLimits {
		errs.Add(limits, "has %d entries, more than the %d devices a container can have", n, MaxPerDeviceLimits)
		return
	}
	keys := make([]string, 0, len(m.DefaultPerDevicePinnedMemoryLimits))
	for k := range m.DefaultPerDevicePinnedMemoryLimits {
		keys = append(keys, k)
	}
	slices.Sort(keys) // map order is random; error order should not be
	for _, k := range keys {
		p := strict.Key(limits, k)
		if !deviceIndexRE.MatchString(k) && !deviceUUIDRE.MatchString(k) {
			errs.Add(p, "key must be a device index such as \"0\" or a UUID such as \"GPU-7a1c…\" or \"MIG-…\"")
		}
		validatePinnedLimit(m.DefaultPerDevicePinnedMemoryLimits[k], p, errs)
	}
}

func validatePinnedLimit(q resource.Quantity, path string, errs *ErrorList) {
	if _, whole := q.AsInt64(); !whole || q.Cmp(minPinnedLimit) < 0 {
		errs.Add(path, "%s must be a whole number of bytes of at least 1Mi (MPS sets limits in megabytes), e.g. 10Gi", q.String())
	}
}

func list[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
