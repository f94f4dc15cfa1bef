package quota

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Quota is what a Tenant's quota labels allow.
type Quota struct {
	// Limits holds one entry per quota label; resources without a label
	// are not limited.
	Limits List
}

// Limited reports whether the quota limits anything.
func (q Quota) Limited() bool { return len(q.Limits) > 0 }

// LabelError is a quota label that cannot be used. The tenant's pods are
// held until it is fixed: skipping it would admit them unchecked.
type LabelError struct {
	Label  string
	Value  string
	Reason string
}

func (e *LabelError) Error() string {
	return fmt.Sprintf("quota label %s=%q: %s", e.Label, e.Value, e.Reason)
}

// maxQuantity bounds byte quantities so that they fit int64. ParseQuantity
// clamps larger values to it, so reaching it means too large.
var maxQuantity = resource.NewQuantity(math.MaxInt64, resource.BinarySI)

// Parse reads the quota labels (those starting with LabelPrefix) among a
// Tenant's labels and ignores all others. Every bad quota label is
// reported, each as a *LabelError, joined in label order.
func Parse(labels map[string]string) (Quota, error) {
	q := Quota{}
	var errs []error
	keys := make([]string, 0, len(labels))
	for key := range labels {
		if strings.HasPrefix(key, LabelPrefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		value := labels[key]
		r := Resource(strings.TrimPrefix(key, LabelPrefix))
		v, reason := parseValue(r, value)
		if reason != "" {
			errs = append(errs, &LabelError{Label: key, Value: value, Reason: reason})
			continue
		}
		if q.Limits == nil {
			q.Limits = List{}
		}
		q.Limits[r] = v
	}
	if len(errs) > 0 {
		return Quota{}, errors.Join(errs...)
	}
	return q, nil
}

// parseValue checks the resource name and parses its value; a non-empty
// reason says what is wrong and how to fix it.
func parseValue(r Resource, value string) (int64, string) {
	switch {
	case r == GPUs, r == GPUMilli, r == CPUs, r == NICs:
	case r == GPUMemory:
		return parseBytes(value)
	case r.IsMIG():
		if r == MIGPrefix {
			return 0, "no MIG profile after " + MIGPrefix + " (example: " + LabelPrefix + "mig-1g.10gb)"
		}
	default:
		return 0, fmt.Sprintf("unknown quota resource %q; known: %s, %s, %s, %s, %s and %s<profile>",
			string(r), GPUs, GPUMemory, GPUMilli, CPUs, NICs, MIGPrefix)
	}
	return parseCount(value)
}

// parseCount accepts a non-negative decimal integer, nothing else: "4",
// not "+4", "4.0" or "4k".
func parseCount(value string) (int64, string) {
	const want = "want a non-negative integer such as \"4\""
	if value == "" {
		return 0, "empty value; " + want
	}
	for _, c := range value {
		if c < '0' || c > '9' {
			return 0, want
		}
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, "too large; " + want
	}
	return v, ""
}

// parseBytes accepts a non-negative quantity of whole bytes, e.g. "80Gi",
// "500M" or "85899345920".
func parseBytes(value string) (int64, string) {
	const want = "want a non-negative quantity of bytes such as \"80Gi\""
	if value == "" {
		return 0, "empty value; " + want
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, want
	}
	if q.Sign() < 0 {
		return 0, "negative; " + want
	}
	if q.Cmp(*maxQuantity) >= 0 {
		return 0, "too large; " + want
	}
	v := q.Value() // rounds up
	if q.Cmp(*resource.NewQuantity(v, resource.BinarySI)) != 0 {
		return 0, "not a whole number of bytes; " + want
	}
	return v, ""
}

// Violation is a request that does not fit a limit.
type Violation struct {
	Resource  Resource
	Used      int64
	Requested int64
	Limit     int64
}

func (v Violation) String() string {
	return fmt.Sprintf("%s exceeded: used %s, requested %s, limit %s", v.Resource.Label(),
		v.Resource.Format(v.Used), v.Resource.Format(v.Requested), v.Resource.Format(v.Limit))
}

// Check returns the first limited resource (in Resources order) for which
// used plus request exceeds the limit, or nil. Resources the request does
// not touch never fail, even if already over their limit (the limit may
// have been lowered): releasing them must stay possible.
func (q Quota) Check(used, request List) *Violation {
	for _, r := range q.Limits.Resources() {
		req := request[r]
		if req <= 0 {
			continue
		}
		limit := q.Limits[r]
		if addSat(used[r], req) > limit {
			return &Violation{Resource: r, Used: used[r], Requested: req, Limit: limit}
		}
	}
	return nil
}

// addSat adds without overflowing.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Relaxed reports whether next allows something prev did not: a limit
// was raised or removed.
func Relaxed(prev, next Quota) bool {
	for r, limit := range prev.Limits {
		n, ok := next.Limits[r]
		if !ok || n > limit {
			return true
		}
	}
	return false
}
