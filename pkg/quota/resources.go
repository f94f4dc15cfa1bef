package quota

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// LabelPrefix starts every quota label on a Tenant.
const LabelPrefix = "quota.hadron.dev/"

// Resource is one quota dimension, the part of a quota label after
// LabelPrefix.
type Resource string

// The quota resources. MIG partitions are per profile, see MIG.
const (
	// GPUs counts whole GPUs (not MIG partitions, not shares).
	GPUs Resource = "gpus"
	// GPUMemory counts the bytes of GPU memory of every kind of GPU
	// allocation: whole GPUs, MIG partitions and shares.
	GPUMemory Resource = "gpu-memory"
	// GPUMilli counts GPU compute in thousandths of a GPU: a whole GPU is
	// 1000, a MIG partition its share of the GPU's compute slices, a
	// shared-GPU share what it consumes.
	GPUMilli Resource = "gpu-milli"
	// CPUs counts exclusive CPUs (hardware threads).
	CPUs Resource = "cpus"
	// NICs counts RDMA NICs.
	NICs Resource = "nics"

	// MIGPrefix starts the resource of each MIG profile.
	MIGPrefix = "mig-"
)

// MIG is the resource counting MIG partitions of profile, e.g.
// "mig-1g.10gb". Characters a label key cannot hold become '_'.
func MIG(profile string) Resource {
	var b strings.Builder
	b.WriteString(MIGPrefix)
	for _, r := range profile {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return Resource(b.String())
}

// Label is the Tenant label that limits r.
func (r Resource) Label() string { return LabelPrefix + string(r) }

// IsMIG reports whether r counts MIG partitions.
func (r Resource) IsMIG() bool { return strings.HasPrefix(string(r), MIGPrefix) }

// isQuantity reports whether r's values are byte quantities ("80Gi")
// rather than plain counts.
func (r Resource) isQuantity() bool { return r == GPUMemory }

// Format writes v in r's unit: bytes as a binary quantity ("80Gi"),
// everything else as an integer.
func (r Resource) Format(v int64) string {
	if r.isQuantity() {
		return resource.NewQuantity(v, resource.BinarySI).String()
	}
	return strconv.FormatInt(v, 10)
}

// List holds an amount per resource: limits, usage or a demand. A missing
// resource is zero (in usage) or unlimited (in limits).
type List map[Resource]int64

// Add adds other to l, allocating l if needed, and returns it.
func (l List) Add(other List) List {
	if len(other) == 0 {
		return l
	}
	if l == nil {
		l = make(List, len(other))
	}
	for r, v := range other {
		l[r] += v
	}
	return l
}

// Clone copies l.
func (l List) Clone() List { return maps.Clone(l) }

// IsZero reports whether every amount in l is zero.
func (l List) IsZero() bool {
	for _, v := range l {
		if v != 0 {
			return false
		}
	}
	return true
}

// Resources returns l's resources in a stable order: the fixed ones
// first, then MIG profiles by name.
func (l List) Resources() []Resource {
	return sortResources(slices.Collect(maps.Keys(l)))
}

// String formats l as "gpus=2, gpu-memory=160Gi", zero amounts left out.
func (l List) String() string {
	var parts []string
	for _, r := range l.Resources() {
		if l[r] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%s", r, r.Format(l[r])))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// fixedOrder ranks the fixed resources for display.
var fixedOrder = map[Resource]int{GPUs: 0, GPUMemory: 1, GPUMilli: 2, CPUs: 3, NICs: 4}

func sortResources(rs []Resource) []Resource {
	rank := func(r Resource) int {
		if i, ok := fixedOrder[r]; ok {
			return i
		}
		return len(fixedOrder)
	}
	slices.SortFunc(rs, func(a, b Resource) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(string(a), string(b))
	})
	return rs
}
