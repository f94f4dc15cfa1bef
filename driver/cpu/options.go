package cpu

import (
	"fmt"

	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/pkg/topology"
)

// Options configures the CPU family.
type Options struct {
	// Reserved CPUs are kept for the system (kubelet, runtime, daemons)
	// and never offered. They should match the kubelet's reservedSystemCPUs.
	Reserved cpuset.CPUSet
	// PackageIdleWatts and PackageMaxWatts, when known, are published so
	// that placement can prefer sockets that are already awake.
	PackageIdleWatts int
	PackageMaxWatts  int
}

// Validate checks the options against the node.
func (o Options) Validate(topo *topology.Topology) error {
	if topo == nil {
		return fmt.Errorf("cpu driver: no topology")
	}
	online := topo.CPUSet()
	if extra := o.Reserved.Difference(online); !extra.IsEmpty() {
		return fmt.Errorf("cpu driver: reserved CPUs %s are not online CPUs of this node (online: %s)", extra, online)
	}
	if o.PackageIdleWatts < 0 || o.PackageMaxWatts < 0 || (o.PackageMaxWatts > 0 && o.PackageIdleWatts > o.PackageMaxWatts) {
		return fmt.Errorf("cpu driver: package power idle %d W / max %d W is not a valid range", o.PackageIdleWatts, o.PackageMaxWatts)
	}
	return nil
}
