package nodeplugin

import (
	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/reclaim"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// GPUDriver is the node's running GPU driver, nil when none runs.
func (n *Node) GPUDriver() *driver.Driver {
	for _, d := range n.Drivers {
		if d.Name() == attrs.GPUDriver {
			return d
		}
	}
	return nil
}

// NewReclaimer returns the node's idle-workspace reclaimer. It finds a
// workspace's GPUs among the GPU driver's prepared claims and reads their
// utilisation through the node's NVML (simulated or real alike).
func NewReclaimer(n *Node, hw *Hardware, opts reclaim.Options) (*reclaim.Reclaimer, error) {
	if d := n.GPUDriver(); d != nil && hw != nil && hw.NVML != nil {
		opts.GPUs = reclaim.NodeGPUs{Driver: d, NVML: hw.NVML}
	}
	return reclaim.New(opts)
}
