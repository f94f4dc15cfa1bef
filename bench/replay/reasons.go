package replay

import "strings"

// Failure reasons, the keys of PolicyResult.FailedByReason.
const (
	ReasonQuota     = "quota"
	ReasonCapacity  = "capacity"
	ReasonAlignment = "alignment"
	ReasonOther     = "other"
)

// classifyFailure sorts the scheduler's unschedulable message into a
// reason. TenantQuota names the quota label it enforces, DeviceAlignment
// says that no value of an attribute has enough devices, and lack of
// room shows as upstream's "Insufficient <resource>" or DynamicResources'
// "cannot allocate all claims".
func classifyFailure(message string) string {
	switch {
	case strings.Contains(message, "quota.hadron.dev/"), strings.Contains(message, "quota caches"):
		return ReasonQuota
	case strings.Contains(message, "value on this node has"):
		return ReasonAlignment
	case strings.Contains(message, "Insufficient "), strings.Contains(message, "cannot allocate all claims"),
		strings.Contains(message, "Too many pods"):
		return ReasonCapacity
	}
	return ReasonOther
}

// transientFailure says whether an unschedulable verdict only reflects a
// scheduler still starting, which retries by itself.
func transientFailure(message string) bool {
	return strings.Contains(message, "caches not synced")
}
