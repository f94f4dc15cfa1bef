package gpu

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver"
	"github.com/hadron-sched/hadron/driver/checkpoint"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// Family is the GPU device family. It is safe for concurrent use.
type Family struct {
	nodeName  string
	lib       nvml.Interface
	sysfsRoot string

	mu   sync.Mutex
	host *Host // last discovery
}

var _ driver.Family = &Family{}

// NewFamily returns the GPU family for nodeName. lib must be initialised
// (nvml.Init) by the caller, who also shuts it down.
func NewFamily(nodeName string, lib nvml.Interface, sysfsRoot string) *Family {
	return &Family{nodeName: nodeName, lib: lib, sysfsRoot: sysfsRoot}
}

// DriverName implements driver.Family.
func (f *Family) DriverName() string { return attrs.GPUDriver }

// Host re-discovers the GPUs and returns what was found.
func (f *Family) Host() (*Host, error) {
	host, err := Discover(f.lib, f.sysfsRoot)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.host = host
	f.mu.Unlock()
	return host, nil
}

// Resources implements driver.Family: one pool named after the node.
func (f *Family) Resources(context.Context) (resourceslice.DriverResources, error) {
	host, err := f.Host()
	if err != nil {
		return resourceslice.DriverResources{}, err
	}
	devices := make([]resourceapi.Device, 0, len(host.GPUs))
	for _, g := range host.GPUs {
		devices = append(devices, wholeDevice(host, g))
	}
	return resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		f.nodeName: {Slices: driver.SplitSlices(devices)},
	}}, nil
}

// preparedGPU is the checkpointed state of one prepared whole GPU.
type preparedGPU struct {
	UUID  string `json:"uuid"`
	Minor int    `json:"minor"`
}

// Prepare implements driver.Family. A whole GPU needs no change on the
// node: the container gets its device node and its identity.
func (f *Family) Prepare(_ context.Context, claim *resourceapi.ResourceClaim, results []resourceapi.DeviceRequestAllocationResult) ([]driver.PreparedDevice, error) {
	byName, err := f.gpusByName()
	if err != nil {
		return nil, err
	}
	out := make([]driver.PreparedDevice, 0, len(results))
	for _, r := range results {
		if r.Pool != f.nodeName {
			return nil, fmt.Errorf("request %q: device %s/%s is from pool %q, not this node's", r.Request, r.Pool, r.Device, f.nodeName)
		}
		g, ok := byName[r.Device]
		if !ok {
			return nil, fmt.Errorf("request %q: device %q is not a GPU on node %s", r.Request, r.Device, f.nodeName)
		}
		state, err := json.Marshal(preparedGPU{UUID: g.UUID, Minor: g.Minor})
		if err != nil {
			return nil, fmt.Errorf("encode state of %s: %w", r.Device, err)
		}
		out = append(out, driver.PreparedDevice{Result: r, Edits: containerEdits(g), State: state})
	}
	return out, nil
}

// Unprepare implements driver.Family: whole GPUs leave nothing to undo.
func (f *Family) Unprepare(context.Context, types.UID, []checkpoint.Device) error {
	return nil
}

func (f *Family) gpusByName() (map[string]GPU, error) {
	f.mu.Lock()
	host := f.host
	f.mu.Unlock()
	if host == nil {
		var err error
		if host, err = f.Host(); err != nil {
			return nil, err
		}
	}
	m := make(map[string]GPU, len(host.GPUs))
	for _, g := range host.GPUs {
		m[DeviceName(g.UUID)] = g
	}
	return m, nil
}

// containerEdits exposes one GPU: its character device (NVIDIA's major
// number 195, minor from NVML) and its identity for CUDA and for tools.
func containerEdits(g GPU) cdispec.ContainerEdits {
	return cdispec.ContainerEdits{
		Env: []string{
			fmt.Sprintf("HADRON_GPU_%d_UUID=%s", g.Index, g.UUID),
			fmt.Sprintf("HADRON_GPU_%d_PCI_BUS_ID=%s", g.Index, g.PCIBusID),
		},
		DeviceNodes: []*cdispec.DeviceNode{{
			Path:  fmt.Sprintf("/dev/nvidia%d", g.Minor),
			Type:  "c",
			Major: 195,
			Minor: int64(g.Minor),
		}},
	}
}
