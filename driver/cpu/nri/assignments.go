package nri

import (
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
)

// Assignments is the CPU driver's view of prepared claims.
type Assignments interface {
	// ClaimCPUs returns the exclusive CPUs prepared for a claim and the UIDs of the pods the
	// claim was reserved for when it was prepared; ok is false for unknown claims.
	ClaimCPUs(claimUID types.UID) (cpus cpuset.CPUSet, pods []types.UID, ok bool)
	// Exclusive returns every CPU currently held exclusively by prepared claims.
	Exclusive() cpuset.CPUSet
	// Online returns every online CPU of the node.
	Online() cpuset.CPUSet
	// Changes is signalled (non-blocking, coalescing) after each prepare or unprepare.
	Changes() <-chan struct{}
}

// ClaimEnvPrefix starts the environment variables through which the CPU
// driver names a container's claims (HADRON_CPU_CLAIM_<uid>=<uid>). It
// must match the driver's; it is repeated here so that this package does
// not depend on the driver.
const ClaimEnvPrefix = "HADRON_CPU_CLAIM_"

// claimsFromEnv returns the claim UIDs named by a container's environment
// ("KEY=VALUE" entries), deduplicated, in order of appearance. Only the
// values are used: they are keys into the driver's state, which decides
// whether the container may have the claim at all.
func claimsFromEnv(env []string) []types.UID {
	var uids []types.UID
	seen := map[types.UID]bool{}
	for _, kv := range env {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, ClaimEnvPrefix) || value == "" {
			continue
		}
		uid := types.UID(value)
		if !seen[uid] {
			seen[uid] = true
			uids = append(uids, uid)
		}
	}
	return uids
}
