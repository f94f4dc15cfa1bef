// Package config is the configuration file of hadron's GPU driver
// (gpu.hadron.dev): which GPUs of the node are offered whole, partitioned
// with MIG, or shared, and the settings of MIG and shared GPUs.
//
// The file is YAML (or JSON), read strictly: unknown or repeated fields
// are errors naming their path, so that a typo cannot silently leave a GPU
// in the wrong mode. See example.yaml for every setting. The kubelet
// plugin reads it with --config; --gpu-mode overrides its defaultMode.
package config

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hadron-sched/hadron/driver/gpu/api/v1alpha1"
)

// Mode is how a GPU is offered to claims.
type Mode string

const (
	// ModeWhole offers the GPU as one device, allocated to one claim.
	ModeWhole Mode = "whole"
	// ModeMIG partitions the GPU with MIG (on GPUs that support it) and
	// offers the partitions.
	ModeMIG Mode = "mig"
	// ModeShared offers the GPU as one device that many claims are
	// allocated shares of, in compute (milli-GPU) and memory.
	ModeShared Mode = "shared"
)

// Modes returns the valid modes, for help texts and errors.
func Modes() []Mode { return []Mode{ModeWhole, ModeMIG, ModeShared} }

func (m Mode) valid() bool {
	return m == ModeWhole || m == ModeMIG || m == ModeShared
}

// ParseMode parses a mode such as the value of --gpu-mode. Modes are
// lower case, as in the configuration file.
func ParseMode(s string) (Mode, error) {
	if m := Mode(s); m.valid() {
		return m, nil
	}
	return "", &FieldError{Detail: unknownMode(s)}
}

func unknownMode(s string) string {
	names := make([]string, 0, 3)
	for _, m := range Modes() {
		names = append(names, string(m))
	}
	return "unknown GPU mode " + quote(s) + " (valid modes: " + strings.Join(names, ", ") + ")"
}

// Config is the GPU driver's configuration.
type Config struct {
	// DefaultMode is the mode of GPUs no rule matches. Default "whole",
	// which is also what the driver does without a configuration file.
	DefaultMode Mode `json:"defaultMode,omitempty"`
	// GPUs are rules choosing the mode of single GPUs or models; for each
	// GPU the first matching rule wins.
	GPUs []GPURule `json:"gpus,omitempty"`
	// Shared holds the settings of GPUs in shared mode.
	Shared SharedDefaults `json:"shared,omitempty"`
	// MIG holds the settings of GPUs in MIG mode.
	MIG MIGDefaults `json:"mig,omitempty"`
	// Health holds how GPU health events are handled.
	Health HealthSettings `json:"health,omitempty"`
}

// HealthSettings says when a GPU that reported a critical error (an XID
// that is not the application's fault, a double-bit ECC error) is trusted
// again.
type HealthSettings struct {
	// RecoverAfter is a duration ("10m") without a new critical event after
	// which the GPU is healthy again. Empty or "0" keeps it unhealthy until
	// the driver restarts, which is what a GPU reset implies: most
	// critical XIDs need one.
	RecoverAfter string `json:"recoverAfter,omitempty"`
}

// RecoverAfterDuration is RecoverAfter parsed; zero when unset or invalid
// (Validate reports invalid values).
func (h HealthSettings) RecoverAfterDuration() time.Duration {
	d, err := time.ParseDuration(h.RecoverAfter)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// GPURule chooses the mode of the GPUs it selects. It has exactly one
// selector: Index, UUID or Model.
type GPURule struct {
	// Index selects the GPU with this NVML index (as in nvidia-smi).
	Index *int `json:"index,omitempty"`
	// UUID selects the GPU with this UUID, "GPU-" and 32 hex digits as
	// nvidia-smi -L prints it; case does not matter.
	UUID string `json:"uuid,omitempty"`
	// Model selects the GPUs whose product name contains it, ignoring
	// case: "A100" matches "NVIDIA A100-SXM4-80GB".
	Model string `json:"model,omitempty"`
	// Mode is the mode of the selected GPUs. Required.
	Mode Mode `json:"mode"`
}

// SharedDefaults is the request policy of shared GPUs and the sharing
// strategy of claims that do not choose one.
//
// A shared GPU offers compute in milli-GPU (1000 = the whole GPU) and its
// memory in bytes. A claim may ask for minMilli, minMilli+milliStep, ...,
// up to 1000; one that does not say gets defaultMilli. Memory works alike
// from minMemory in steps of memoryStep; a claim that does not ask for
// memory gets the share of it matching its compute, which the driver works
// out from each GPU's memory size.
type SharedDefaults struct {
	// MinMilli is the smallest compute share, 1 to 999. Default 100: a
	// tenth of a GPU is about the least that still runs a useful model,
	// and it bounds a GPU to ten tenants by compute.
	MinMilli int64 `json:"minMilli,omitempty"`
	// DefaultMilli is the share of a claim that does not ask for one, from
	// MinMilli to 1000 on the MinMilli+k*MilliStep grid. Default 250, a
	// quarter GPU: four claims that do not say fill a GPU, rather than ten
	// that each get too little or one that gets all of it. When 250 is not
	// on the grid the default is the next grid value above it, and when
	// MinMilli is larger it is MinMilli.
	DefaultMilli int64 `json:"defaultMilli,omitempty"`
	// MilliStep is the granularity of compute shares; 1000-MinMilli must
	// be a multiple of it, so that a whole GPU can be asked for. Default
	// 50: fine enough to size shares, coarse enough to keep the number of
	// distinct shares, and so fragmentation, small.
	MilliStep int64 `json:"milliStep,omitempty"`
	// MinMemory is the smallest memory share, in whole bytes. Default 1Gi,
	// about the least a CUDA context and a small model need.
	MinMemory *resource.Quantity `json:"minMemory,omitempty"`
	// MemoryStep is the granularity of memory shares. Default 256Mi.
	MemoryStep *resource.Quantity `json:"memoryStep,omitempty"`
	// Strategy is how claims share a GPU when their GpuConfig does not
	// say: "TimeSlicing" (the default, which works with every CUDA
	// program) or "MPS" (concurrent kernels with per-process limits, which
	// needs the MPS control daemon).
	Strategy string `json:"strategy,omitempty"`
}

// MIGDefaults is the settings of GPUs in MIG mode.
type MIGDefaults struct {
	// Profiles are the MIG profiles offered, by name, e.g.
	// ["1g.10gb", "3g.40gb"]. Empty offers every profile the GPU supports.
	// A profile a GPU does not support is not offered on that GPU.
	Profiles []string `json:"profiles,omitempty"`
}

// GPUIdentity is what the driver knows of a GPU when it picks its mode.
type GPUIdentity struct {
	Index int
	UUID  string
	Model string // the NVML product name, e.g. "NVIDIA H100 80GB HBM3"
}

// The defaults, documented on the fields of SharedDefaults.
const (
	DefaultMinMilli    = 100
	DefaultMilliTarget = 250
	DefaultMilliStep   = 50
	DefaultStrategy    = string(v1alpha1.TimeSlicing)
)

var (
	defaultMinMemory  = resource.MustParse("1Gi")
	defaultMemoryStep = resource.MustParse("256Mi")
)

// Default is the configuration of a driver run without a configuration
// file: every GPU in mode, with default settings. An empty mode means
// whole.
func Default(mode Mode) *Config {
	c := &Config{DefaultMode: mode}
	c.SetDefaults()
	return c
}

// WithDefaultMode returns a copy of c whose DefaultMode is mode, which is
// how --gpu-mode overrides the file's defaultMode; the per-GPU rules still
// apply. An empty mode changes nothing. The caller validates mode, with
// ParseMode or Validate.
func (c *Config) WithDefaultMode(mode Mode) *Config {
	if c == nil {
		return Default(mode)
	}
	out := c.clone()
	if mode != "" {
		out.DefaultMode = mode
	}
	return out
}

// SetDefaults fills in the settings left empty, as Parse does.
func (c *Config) SetDefaults() {
	if c == nil {
		return
	}
	if c.DefaultMode == "" {
		c.DefaultMode = ModeWhole
	}
	s := &c.Shared
	if s.MinMilli == 0 {
		s.MinMilli = DefaultMinMilli
	}
	if s.MilliStep == 0 {
		s.MilliStep = DefaultMilliStep
	}
	if s.DefaultMilli == 0 {
		s.DefaultMilli = defaultMilli(s.MinMilli, s.MilliStep)
	}
	if s.MinMemory == nil {
		q := defaultMinMemory.DeepCopy()
		s.MinMemory = &q
	}
	if s.MemoryStep == nil {
		q := defaultMemoryStep.DeepCopy()
		s.MemoryStep = &q
	}
	if s.Strategy == "" {
		s.Strategy = DefaultStrategy
	}
}

// defaultMilli is the smallest valid share of at least a quarter GPU: the
// default must lie on the request grid, which the administrator may have
// moved with minMilli and milliStep.
func defaultMilli(minMilli, step int64) int64 {
	if minMilli >= DefaultMilliTarget || step <= 0 {
		return minMilli
	}
	steps := (DefaultMilliTarget - minMilli + step - 1) / step
	return minMilli + steps*step
}

// ModeFor returns the mode of GPU g: that of the first rule selecting it,
// else DefaultMode, else whole.
func (c *Config) ModeFor(g GPUIdentity) Mode {
	if c == nil {
		return ModeWhole
	}
	for _, r := range c.GPUs {
		if r.matches(g) {
			return r.Mode
		}
	}
	if c.DefaultMode == "" {
		return ModeWhole
	}
	return c.DefaultMode
}

func (r GPURule) matches(g GPUIdentity) bool {
	switch {
	case r.Index != nil:
		return *r.Index == g.Index
	case r.UUID != "":
		return strings.EqualFold(r.UUID, g.UUID)
	case r.Model != "":
		return strings.Contains(strings.ToLower(g.Model), strings.ToLower(r.Model))
	}
	return false
}

// clone is a deep copy, so that WithDefaultMode leaves the original alone.
func (c *Config) clone() *Config {
	out := *c
	out.GPUs = make([]GPURule, len(c.GPUs))
	for i, r := range c.GPUs {
		if r.Index != nil {
			idx := *r.Index
			r.Index = &idx
		}
		out.GPUs[i] = r
	}
	if c.GPUs == nil {
		out.GPUs = nil
	}
	if q := c.Shared.MinMemory; q != nil {
		cp := q.DeepCopy()
		out.Shared.MinMemory = &cp
	}
	if q := c.Shared.MemoryStep; q != nil {
		cp := q.DeepCopy()
		out.Shared.MemoryStep = &cp
	}
	if c.MIG.Profiles != nil {
		out.MIG.Profiles = append([]string(nil), c.MIG.Profiles...)
	}
	return &out
}
