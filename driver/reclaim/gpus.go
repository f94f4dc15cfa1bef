package reclaim

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

// Activity signals, as in the workspace annotations.
const (
	SignalHeartbeat      = workspace.SignalHeartbeat
	SignalGPUUtilization = workspace.SignalGPUUtilization
)

// GPU is one physical GPU a workspace holds (whole, or through a MIG
// partition or a share).
type GPU struct {
	UUID string
	// IdleWatts is the GPU's idle power from its published attribute; 0
	// when unknown.
	IdleWatts int64
}

// GPUSource finds a pod's GPUs on this node and reads their utilisation.
type GPUSource interface {
	// PodGPUs returns the physical GPUs of the devices prepared on this
	// node for the pod's claims, each once.
	PodGPUs(pod *v1.Pod) []GPU
	// Utilization is a GPU's current utilisation in percent.
	Utilization(uuid string) (int, error)
}

// NodeGPUs is the GPUSource of a node: the GPU driver's prepared claims
// and published devices, and NVML.
type NodeGPUs struct {
	Driver *driver.Driver
	NVML   nvml.Interface
}

var _ GPUSource = NodeGPUs{}

// PodGPUs implements GPUSource.
func (g NodeGPUs) PodGPUs(pod *v1.Pod) []GPU {
	seen := map[string]bool{}
	var out []GPU
	for _, claim := range kube.PodClaimNames(pod) {
		for _, prepared := range g.Driver.PreparedDevices(pod.Namespace, claim) {
			dev, ok := g.Driver.PublishedDevice(prepared.Device)
			if !ok {
				continue
			}
			uuid := stringAttr(dev.Attributes[attrs.GPUParentUUID])
			if uuid == "" {
				uuid = stringAttr(dev.Attributes[attrs.GPUUUID])
			}
			if uuid == "" || seen[uuid] {
				continue
			}
			seen[uuid] = true
			gpu := GPU{UUID: uuid}
			if w := dev.Attributes[attrs.GPUIdlePowerWatts].IntValue; w != nil {
				gpu.IdleWatts = *w
			}
			out = append(out, gpu)
		}
	}
	return out
}

// Utilization implements GPUSource through NVML's utilisation rates (the
// percentage of the last sample period in which a kernel ran).
func (g NodeGPUs) Utilization(uuid string) (int, error) {
	dev, ret := g.NVML.DeviceGetHandleByUUID(uuid)
	if ret != nvml.SUCCESS {
		return 0, fmt.Errorf("find GPU: %s", nvml.ErrorString(ret))
	}
	u, ret := dev.GetUtilizationRates()
	if ret != nvml.SUCCESS {
		return 0, fmt.Errorf("utilization rates: %s", nvml.ErrorString(ret))
	}
	return int(u.Gpu), nil
}

func stringAttr(a resourceapi.DeviceAttribute) string {
	if a.StringValue == nil {
		return ""
	}
	return *a.StringValue
}
