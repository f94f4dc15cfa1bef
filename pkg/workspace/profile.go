package workspace

import (
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ProfileFile is the schema of deploy/workspaces/profiles.yaml and of the
// admin's ConfigMap key ProfilesKey.
type ProfileFile struct {
	Profiles []Profile `json:"profiles"`
}

// Profile is a named kind of workspace: an image, container resources and
// the devices its ResourceClaim asks for.
type Profile struct {
	// Name is what users type (--profile); a DNS label.
	Name string `json:"name"`
	// DisplayName is one line for menus (JupyterHub's profile list).
	DisplayName string `json:"displayName"`
	// Description says in a sentence or two what the profile is for.
	Description string `json:"description"`
	// Image is the workspace container's image.
	Image string `json:"image"`
	// Resources are the container's cpu and memory requests and limits.
	Resources Resources `json:"resources"`
	// Devices are the requests of the workspace's one ResourceClaim; one
	// claim, so that Align can span all of them.
	Devices []DeviceRequest `json:"devices,omitempty"`
	// Align lists attributes that several devices must share.
	Align []Alignment `json:"align,omitempty"`
	// Idle tells the idle reclaimer when the workspace counts as idle.
	Idle Idle `json:"idle"`
	// Ports are exposed by the workspace's Service.
	Ports []Port `json:"ports,omitempty"`
}

// Resources are quantities by resource name (cpu, memory,
// ephemeral-storage). Strings, so that a bad quantity is reported with its
// field rather than as a decoding error.
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// DeviceRequest is one request of the workspace's ResourceClaim.
type DeviceRequest struct {
	// Name is the request's name, which Align refers to.
	Name string `json:"name"`
	// Class is the DeviceClass, e.g. gpu.hadron.dev.
	Class string `json:"class"`
	// Count of devices; 0 means 1.
	Count int64 `json:"count,omitempty"`
	// Capacity to consume from the device, by capacity name, e.g.
	// cpu.hadron.dev/cpus: "16".
	Capacity map[string]string `json:"capacity,omitempty"`
	// Selectors are CEL expressions every chosen device must satisfy.
	Selectors []string `json:"selectors,omitempty"`
}

// Alignment makes the devices of Requests (all of the profile's requests
// when empty) share one value of Attribute.
type Alignment struct {
	Attribute string   `json:"attribute"`
	Requests  []string `json:"requests,omitempty"`
}

// Idle configures the idle reclaimer for the profile's workspaces.
type Idle struct {
	// Timeout is a Go duration; empty or "0" means never reclaimed.
	Timeout string `json:"timeout,omitempty"`
	// Signal is SignalHeartbeat or SignalGPUUtilization.
	Signal string `json:"signal,omitempty"`
}

// Port is one port of the workspace's Service.
type Port struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
}

// count is the number of devices the request asks for.
func (r DeviceRequest) count() int64 {
	if r.Count == 0 {
		return 1
	}
	return r.Count
}

// IdleTimeout is the parsed idle timeout (0: never). The profile must have
// been validated.
func (p Profile) IdleTimeout() time.Duration {
	if p.Idle.Timeout == "" {
		return 0
	}
	d, _ := time.ParseDuration(p.Idle.Timeout)
	return d
}

// IdleSignal is the activity signal, heartbeat by default.
func (p Profile) IdleSignal() string {
	if p.Idle.Signal == "" {
		return SignalHeartbeat
	}
	return p.Idle.Signal
}

// ResourceRequirements converts Resources; the profile must have been
// validated (bad quantities are left out).
func (p Profile) ResourceRequirements() v1.ResourceRequirements {
	return v1.ResourceRequirements{Requests: resourceList(p.Resources.Requests), Limits: resourceList(p.Resources.Limits)}
}

func resourceList(in map[string]string) v1.ResourceList {
	if len(in) == 0 {
		return nil
	}
	out := v1.ResourceList{}
	for name, value := range in {
		if q, err := resource.ParseQuantity(value); err == nil {
			out[v1.ResourceName(name)] = q
		}
	}
	return out
}
