package driver

import (
	resourceapi "k8s.io/api/resource/v1"

	"github.com/hadron-sched/hadron/driver/checkpoint"
)

// PreparedDevices returns the devices this driver has prepared, to
// completion, for the claim namespace/name. The node's other components
// (the idle reclaimer) read it to find a pod's devices without asking the
// API server.
func (d *Driver) PreparedDevices(namespace, name string) []checkpoint.Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []checkpoint.Device
	for _, c := range d.claims.state.Claims {
		if c.Namespace == namespace && c.Name == name && c.State == checkpoint.PrepareCompleted {
			out = append(out, c.Devices...)
		}
	}
	return out
}

// PublishedDevice returns a copy of the device last published under name.
func (d *Driver) PublishedDevice(name string) (resourceapi.Device, bool) {
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	dev, ok := d.byName[name]
	if !ok {
		return resourceapi.Device{}, false
	}
	return *dev.DeepCopy(), true
}
