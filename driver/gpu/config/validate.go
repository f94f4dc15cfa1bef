package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict"
	"github.com/hadron-sched/hadron/driver/gpu/api/v1alpha1"
)

var (
	// gpuUUIDRE is a physical GPU's UUID as NVML reports it. Checking the
	// shape catches a truncated or mistyped UUID, which would otherwise
	// silently match no GPU.
	gpuUUIDRE = regexp.MustCompile(`^(?i)GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// migProfileRE is NVIDIA's MIG profile naming, "<compute slices>g.
	// <memory GB>gb" with the suffixes NVML uses: +me (with media
	// engines), -me (without), +me.all (all media engines), +gfx
	// (graphics).
	migProfileRE = regexp.MustCompile(`^[1-9][0-9]?g\.[1-9][0-9]{0,3}gb(\+me|\+me\.all|-me|\+gfx)?$`)
)

// Validate reports every problem of the configuration, each with its path.
// It judges the configuration as it will be used, with defaults filled in,
// so a Config built in code need not call SetDefaults first.
func (c *Config) Validate() error {
	if c == nil {
		return &FieldError{Detail: "no configuration (nil Config)"}
	}
	d := c.clone()
	d.SetDefaults()
	var errs ErrorList
	if !d.DefaultMode.valid() {
		errs.Add("defaultMode", "%s", unknownMode(string(d.DefaultMode)))
	}
	validateRules(d.GPUs, &errs)
	validateShared(&d.Shared, "shared", &errs)
	validateMIG(&d.MIG, "mig", &errs)
	if r := d.Health.RecoverAfter; r != "" {
		if v, err := time.ParseDuration(r); err != nil || v < 0 {
			errs.Add("health.recoverAfter", "%q is not a duration like 10m or 0", r)
		}
	}
	return errs.Err()
}

// MaxRules bounds the gpus list: far more rules than a node has GPUs, and
// few enough that checking each rule against the earlier ones stays cheap.
const MaxRules = 1024

func validateRules(rules []GPURule, errs *ErrorList) {
	if len(rules) > MaxRules {
		errs.Add("gpus", "has %d rules, more than the limit of %d; select GPUs by model to need fewer", len(rules), MaxRules)
		return
	}
	type modelRule struct {
		rule  int
		lower string
	}
	byIndex := map[int]int{}   // index → first rule
	byUUID := map[string]int{} // lower-case UUID → first rule
	var models []modelRule     // earlier valid model rules
	for i, r := range rules {
		path := strict.Index("gpus", i)
		var set []string
		if r.Index != nil {
			set = append(set, "index")
		}
		if r.UUID != "" {
			set = append(set, "uuid")
		}
		if r.Model != "" {
			set = append(set, "model")
		}
		if len(set) != 1 {
			got := "none"
			if len(set) > 1 {
				got = strings.Join(set, " and ")
			}
			errs.Add(path, "exactly one of index, uuid, model must be set (got %s); use one rule per selector", got)
		}
		switch {
		case r.Mode == "":
			errs.Add(strict.Child(path, "mode"), "required: one of whole, mig, shared")
		case !r.Mode.valid():
			errs.Add(strict.Child(path, "mode"), "%s", unknownMode(string(r.Mode)))
		}
		if len(set) != 1 {
			continue // which selector counts is unclear; skip the rest
		}
		switch {
		case r.Index != nil:
			p := strict.Child(path, "index")
			if *r.Index < 0 {
				errs.Add(p, "%d must not be negative", *r.Index)
			} else if first, dup := byIndex[*r.Index]; dup {
				errs.Add(p, "GPU %d is already selected by gpus[%d], and the first matching rule wins; remove one", *r.Index, first)
			} else {
				byIndex[*r.Index] = i
			}
		case r.UUID != "":
			p := strict.Child(path, "uuid")
			key := strings.ToLower(r.UUID)
			if !gpuUUIDRE.MatchString(r.UUID) {
				errs.Add(p, "%s is not a GPU UUID: want GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx as nvidia-smi -L prints it", quote(r.UUID))
			} else if first, dup := byUUID[key]; dup {
				errs.Add(p, "GPU %s is already selected by gpus[%d], and the first matching rule wins; remove one", r.UUID, first)
			} else {
				byUUID[key] = i
			}
		default:
			p := strict.Child(path, "model")
			if strings.TrimSpace(r.Model) != r.Model {
				errs.Add(p, "%s has leading or trailing spaces, which would have to match too; remove them", quote(r.Model))
				continue
			}
			model := strings.ToLower(r.Model)
			// An earlier model rule whose text is part of this one
			// matches every GPU this one does, so this one never applies.
			for _, earlier := range models {
				if strings.Contains(model, earlier.lower) {
					errs.Add(p, "never applies: every GPU whose name contains %s also contains %s, which gpus[%d] selects first; remove this rule or move it up", quote(r.Model), quote(rules[earlier.rule].Model), earlier.rule)
					break
				}
			}
			models = append(models, modelRule{i, model})
		}
	}
}

func validateShared(s *SharedDefaults, path string, errs *ErrorList) {
	minOK, stepOK := true, true
	if s.MilliStep < 1 || s.MilliStep > 1000 {
		errs.Add(strict.Child(path, "milliStep"), "%d must be between 1 and 1000", s.MilliStep)
		stepOK = false
	}
	switch {
	case s.MinMilli < 1 || s.MinMilli > 1000:
		errs.Add(strict.Child(path, "minMilli"), "%d must be between 1 and 999 (1000 is a whole GPU)", s.MinMilli)
		minOK = false
	case s.MinMilli == 1000:
		errs.Add(strict.Child(path, "minMilli"), "1000 leaves nothing to share; use mode whole for GPUs that are not shared")
		minOK = false
	case stepOK && (1000-s.MinMilli)%s.MilliStep != 0:
		// Otherwise a claim asking for the whole GPU is rounded up past
		// it, and no claim can get it.
		errs.Add(strict.Child(path, "milliStep"), "1000 - minMilli (%d) must be a multiple of milliStep (%d) so that a whole GPU can be asked for; try %s", 1000-s.MinMilli, s.MilliStep, divisorHint(1000-s.MinMilli, s.MilliStep))
	}
	p := strict.Child(path, "defaultMilli")
	switch {
	case minOK && (s.DefaultMilli < s.MinMilli || s.DefaultMilli > 1000):
		errs.Add(p, "%d must be between minMilli (%d) and 1000", s.DefaultMilli, s.MinMilli)
	case !minOK && (s.DefaultMilli < 1 || s.DefaultMilli > 1000):
		errs.Add(p, "%d must be between minMilli and 1000", s.DefaultMilli)
	case minOK && stepOK && (s.DefaultMilli-s.MinMilli)%s.MilliStep != 0:
		// The API server refuses a default off the request grid.
		errs.Add(p, "%d must be minMilli (%d) plus a multiple of milliStep (%d)", s.DefaultMilli, s.MinMilli, s.MilliStep)
	}
	validateBytes(s.MinMemory, strict.Child(path, "minMemory"), errs)
	validateBytes(s.MemoryStep, strict.Child(path, "memoryStep"), errs)
	switch v1alpha1.SharingStrategy(s.Strategy) {
	case v1alpha1.TimeSlicing, v1alpha1.MPS:
	default:
		errs.Add(strict.Child(path, "strategy"), "unknown strategy %s: want %s or %s (case-sensitive)", quote(s.Strategy), v1alpha1.TimeSlicing, v1alpha1.MPS)
	}
}

// divisorHint suggests the divisor of span closest to step.
func divisorHint(span, step int64) string {
	best := int64(1)
	for d := int64(1); d <= span; d++ {
		if span%d == 0 && abs(d-step) < abs(best-step) {
			best = d
		}
	}
	return "milliStep " + strconv.FormatInt(best, 10)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func validateBytes(q *resource.Quantity, path string, errs *ErrorList) {
	if q == nil {
		return // SetDefaults fills it
	}
	if v, whole := q.AsInt64(); !whole || v <= 0 {
		errs.Add(path, "%s must be a positive whole number of bytes, e.g. 1Gi or 256Mi", q.String())
	}
}

func validateMIG(m *MIGDefaults, path string, errs *ErrorList) {
	seen := map[string]int{}
	for i, name := range m.Profiles {
		p := strict.Index(strict.Child(path, "profiles"), i)
		if !migProfileRE.MatchString(name) {
			errs.Add(p, "%s is not a MIG profile name: want <slices>g.<memory>gb with an optional +me, -me, +me.all or +gfx, e.g. 1g.10gb, 3g.40gb, 1g.10gb+me", quote(name))
			continue
		}
		if first, dup := seen[name]; dup {
			errs.Add(p, "%s is already listed at profiles[%d]; remove one", name, first)
			continue
		}
		seen[name] = i
	}
}

// quote quotes s for messages, bounded so that a huge value cannot make a
// huge error.
func quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…", strings.ToValidUTF8(s[:80], ""))
	}
	return fmt.Sprintf("%q", s)
}
