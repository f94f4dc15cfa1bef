package gpu

import (
	"fmt"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/cdi"
	"github.com/hadron-sched/hadron/driver/gpu/api/v1alpha1"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// preparedGPU is the checkpointed state of one prepared whole GPU.
type preparedGPU struct {
	UUID  string `json:"uuid"`
	Minor int    `json:"minor"`
}

// nvidiaMajor is the character-device major number of NVIDIA GPUs.
const nvidiaMajor = 195

func gpuDeviceNode(g GPU) *cdispec.DeviceNode {
	return cdi.CharDevice(fmt.Sprintf("/dev/nvidia%d", g.Minor), nvidiaMajor, int64(g.Minor))
}

// containerEdits exposes one whole GPU: its character device and its
// identity for CUDA and for tools. Variable names carry the GPU index so
// that the edits of several GPUs in one container never collide.
func containerEdits(g GPU) cdispec.ContainerEdits {
	return cdispec.ContainerEdits{
		Env: []string{
			fmt.Sprintf("HADRON_GPU_%d_UUID=%s", g.Index, g.UUID),
			fmt.Sprintf("HADRON_GPU_%d_PCI_BUS_ID=%s", g.Index, g.PCIBusID),
		},
		DeviceNodes: []*cdispec.DeviceNode{gpuDeviceNode(g)},
	}
}

// migEdits exposes one MIG partition: the parent's device node (MIG
// devices are reached through it) and the partition's UUID, which CUDA
// accepts in CUDA_VISIBLE_DEVICES.
func migEdits(g GPU, rec preparedMIG) cdispec.ContainerEdits {
	prefix := fmt.Sprintf("HADRON_GPU_%d_MIG_%d", g.Index, rec.Start)
	return cdispec.ContainerEdits{
		Env: []string{
			prefix + "_UUID=" + rec.UUID,
			prefix + "_PROFILE=" + rec.Profile,
			prefix + "_PARENT_UUID=" + g.UUID,
		},
		DeviceNodes: []*cdispec.DeviceNode{gpuDeviceNode(g)},
	}
}

// share is the part of a shared GPU one claim got, and how it is shared.
type share struct {
	UUID        string `json:"uuid"`
	Milli       int64  `json:"milli"`
	MemoryBytes int64  `json:"memoryBytes"`
	Strategy    string `json:"strategy"`
	Interval    string `json:"interval,omitempty"`
	// ActiveThreadPercentage and PinnedMemoryLimit apply to MPS.
	ActiveThreadPercentage int   `json:"activeThreadPercentage,omitempty"`
	PinnedMemoryLimit      int64 `json:"pinnedMemoryLimit,omitempty"`
}

// shareOf reads what the allocator gave a request from a shared GPU.
func shareOf(r resourceapi.DeviceRequestAllocationResult, g GPU, cfg *v1alpha1.GpuConfig, defaults config.SharedDefaults) (share, error) {
	s := share{UUID: g.UUID}
	compute, ok := r.ConsumedCapacity[attrs.GPUCompute]
	if !ok {
		return s, fmt.Errorf("allocation of shared GPU %s records no %s", g.UUID, attrs.GPUCompute)
	}
	s.Milli = compute.Value()
	if mem, ok := r.ConsumedCapacity[attrs.GPUMemory]; ok {
		s.MemoryBytes = mem.Value()
	}
	s.Strategy = defaults.Strategy
	if cfg != nil && cfg.Sharing != nil {
		s.Strategy = string(cfg.Sharing.Strategy)
		if ts := cfg.Sharing.TimeSlicing; ts != nil {
			s.Interval = string(ts.Interval)
		}
		if mps := cfg.Sharing.MPS; mps != nil {
			if mps.DefaultActiveThreadPercentage != nil {
				s.ActiveThreadPercentage = *mps.DefaultActiveThreadPercentage
			}
			if mps.DefaultPinnedDeviceMemoryLimit != nil {
				s.PinnedMemoryLimit = mps.DefaultPinnedDeviceMemoryLimit.Value()
			}
		}
	}
	if s.Strategy == string(v1alpha1.MPS) {
		// Without an explicit setting, MPS gets the compute share the
		// claim was allocated and the memory it was allocated.
		if s.ActiveThreadPercentage == 0 {
			s.ActiveThreadPercentage = int(max(1, s.Milli/10))
		}
		if s.PinnedMemoryLimit == 0 {
			s.PinnedMemoryLimit = s.MemoryBytes
		}
	}
	return s, nil
}

// sharedEdits passes the share to the container. With MPS the CUDA
// client limits are set from it; with time-slicing the share is what the
// scheduler accounted, and the GPU's time slice interval applies.
func sharedEdits(g GPU, s share) cdispec.ContainerEdits {
	prefix := fmt.Sprintf("HADRON_GPU_%d", g.Index)
	env := []string{
		prefix + "_UUID=" + g.UUID,
		prefix + "_SHARE_MILLI=" + fmt.Sprint(s.Milli),
		prefix + "_SHARE_MEMORY_BYTES=" + fmt.Sprint(s.MemoryBytes),
		prefix + "_SHARING=" + s.Strategy,
	}
	if s.Interval != "" {
		env = append(env, prefix+"_TIMESLICE="+s.Interval)
	}
	if s.Strategy == string(v1alpha1.MPS) {
		env = append(env,
			fmt.Sprintf("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=%d", s.ActiveThreadPercentage),
			fmt.Sprintf("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=%s=%dM", g.UUID, s.PinnedMemoryLimit>>20),
		)
	}
	return cdispec.ContainerEdits{Env: env, DeviceNodes: []*cdispec.DeviceNode{gpuDeviceNode(g)}}
}

// claimConfig is the opaque configuration of this driver in one claim, in
// precedence order: DeviceClass configs first, then the claim's own, the
// later overriding the earlier.
type claimConfig []requestConfig

// requestConfig is one decoded config and the requests it applies to (all
// when empty).
type requestConfig struct {
	requests []string
	cfg      *v1alpha1.GpuConfig
}

// claimConfigs decodes every opaque config of this driver in the claim's
// allocation. Any bad config fails the whole claim before anything is
// changed on the node.
func claimConfigs(claim *resourceapi.ResourceClaim) (claimConfig, error) {
	var out claimConfig
	if claim.Status.Allocation == nil {
		return out, nil
	}
	for _, source := range []resourceapi.AllocationConfigSource{resourceapi.AllocationConfigSourceClass, resourceapi.AllocationConfigSourceClaim} {
		for i, c := range claim.Status.Allocation.Devices.Config {
			if c.Source != source || c.Opaque == nil || c.Opaque.Driver != attrs.GPUDriver {
				continue
			}
			cfg, err := v1alpha1.Decode(c.Opaque.Parameters.Raw)
			if err != nil {
				return nil, fmt.Errorf("devices.config[%d].opaque.parameters (from %s): %w", i, strings.ToLower(string(source)), err)
			}
			out = append(out, requestConfig{c.Requests, cfg})
		}
	}
	return out, nil
}

// For returns the configuration that applies to a request ("req" or
// "req/subrequest"), or nil.
func (c claimConfig) For(request string) *v1alpha1.GpuConfig {
	parent, _, _ := strings.Cut(request, "/")
	var found *v1alpha1.GpuConfig
	for _, e := range c {
		if len(e.requests) == 0 {
			found = e.cfg
			continue
		}
		for _, r := range e.requests {
			if r == request || r == parent {
				found = e.cfg
			}
		}
	}
	return found
}
