package simhw

import (
	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// wireLibrary installs the library-level lookups that must agree with the
// simulated devices. The mock answers Init, Shutdown, versions, the device
// count and DeviceGetHandleByIndex itself; completeMock forwards the
// DeviceXxx, GpuInstanceXxx, ComputeInstanceXxx and EventSetXxx calls to
// the handles.
func (n *NVML) wireLibrary(s *server.Server) {
	// Real NVML answers ERROR_NOT_FOUND for a well-formed identifier that
	// matches no GPU (the mock says INVALID_ARGUMENT); drivers tell the two
	// apart, so the simulation follows NVML. MIG device UUIDs resolve to
	// their MIG device handles, as with NVML.
	s.DeviceGetHandleByUUIDFunc = func(uuid string) (nvml.Device, nvml.Return) {
		if uuid == "" {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		for _, g := range n.gpus {
			if g.dev.UUID == uuid {
				return g.dev, nvml.SUCCESS
			}
		}
		for _, g := range n.gpus {
			if m, ok := g.migDeviceByUUID(uuid); ok {
				return m, nvml.SUCCESS
			}
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	s.DeviceGetHandleByPciBusIdFunc = func(busID string) (nvml.Device, nvml.Return) {
		addr, ok := parseNVMLBusID(busID)
		if !ok {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		for _, g := range n.gpus {
			if g.addr == addr {
				return g.dev, nvml.SUCCESS
			}
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	s.DeviceGetHandleBySerialFunc = func(serial string) (nvml.Device, nvml.Return) {
		if serial == "" {
			return nil, nvml.ERROR_INVALID_ARGUMENT
		}
		for _, g := range n.gpus {
			if g.serial == serial {
				return g.dev, nvml.SUCCESS
			}
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	s.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return newEventSet(), nvml.SUCCESS
	}
	cuda := s.CudaDriverVersion
	s.SystemGetCudaDriverVersion_v2Func = func() (int, nvml.Return) { return cuda, nvml.SUCCESS }
	// The real library formats return codes without calling into the
	// driver; so can the simulation.
	s.ErrorStringFunc = func(r nvml.Return) string { return r.Error() }
}
