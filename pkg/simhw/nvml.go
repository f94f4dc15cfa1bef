package simhw

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxb200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// nvmlInterface lets NVML embed the mock server under an unexported field
// name: the nvml.Interface methods are promoted, but callers cannot swap
// the implementation underneath the simulation state.
type nvmlInterface = nvml.Interface

// NVML is a simulated NVML library for one Machine. It implements
// nvml.Interface on top of go-nvml's mock server (which keeps providing
// MIG profile tables, versions...) and adds what the mock lacks: the
// machine's PCI addresses and NUMA placement, seed-derived UUIDs and
// serials, power and utilisation, CPU/memory affinity and PCIe topology,
// MIG partitioning with the hardware's rules and MIG device handles (see
// nvml_mig.go), and health events (see nvml_events.go). Methods nobody
// simulates answer ERROR_NOT_SUPPORTED instead of panicking.
//
// An NVML is safe for concurrent use.
//
// Device handles are the mock's own device objects, so a handle obtained
// from DeviceGetHandleByIndex, from a GPU instance's info or by UUID is the
// same value and answers the same way.
//
// The go-nvml mock records every call it receives (for its own tests'
// assertions) and never forgets them, so a very long-running simulation
// grows slowly; recreate the NVML if that matters.
type NVML struct {
	nvmlInterface
	machine *Machine
	seed    string
	gpus    []*simGPU
	// byHandle maps a device handle back to its simulated state, for calls
	// that take a second device (GetTopologyCommonAncestor).
	byHandle map[nvml.Device]*simGPU
	// share is what the host's sharing tools changed (sharing.go).
	share sharingState
}

var _ nvml.Interface = (*NVML)(nil)

// simGPU is the simulation state of one GPU.
type simGPU struct {
	index   int
	dev     *server.Device
	spec    GPU
	addr    pciAddr
	pcieGen int
	serial  string
	// maxSlices is the GPU's compute slice count, 0 without MIG support.
	maxSlices int
	// util is the simulated utilisation in percent; atomic because it is
	// read on every power query.
	util   atomic.Int32
	mig    migState
	events eventRegistry
}

// NewNVML returns an nvml.Interface simulating the machine's GPUs. seed
// (normally the node name; the machine name when empty) determines UUIDs
// and serials: the same seed always gives the same identifiers, different
// seeds give different ones. The concrete type is *NVML; use
// NewSimulatedNVML to reach the simulation controls directly.
func (m *Machine) NewNVML(seed string) (nvml.Interface, error) {
	n, err := m.NewSimulatedNVML(seed)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// NewSimulatedNVML is NewNVML returning the concrete type, whose
// SetUtilization drives the simulated load.
func (m *Machine) NewSimulatedNVML(seed string) (*NVML, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("simulated NVML: invalid machine: %w", err)
	}
	mc := m.clone()
	if seed == "" {
		seed = mc.Name
	}
	driver, nvmlVersion, cuda, err := mc.versions()
	if err != nil {
		return nil, fmt.Errorf("simulated NVML for machine %q: %w", mc.Name, err)
	}
	configs := make([]gpus.Config, len(mc.GPUs))
	for i := range mc.GPUs {
		configs[i] = nvmlConfig(mc.modelOf(i))
	}
	srv, err := server.New(
		server.WithGPUs(configs...),
		server.WithDriverVersion(driver),
		server.WithNVMLVersion(nvmlVersion),
		server.WithCUDADriverVersion(cuda),
	)
	if err != nil {
		return nil, fmt.Errorf("simulated NVML for machine %q: building the go-nvml mock server: %w", mc.Name, err)
	}
	if len(srv.Devices) != len(mc.GPUs) {
		return nil, fmt.Errorf("simulated NVML for machine %q: go-nvml mock built %d devices, want %d",
			mc.Name, len(srv.Devices), len(mc.GPUs))
	}

	n := &NVML{
		nvmlInterface: srv,
		machine:       mc,
		seed:          seed,
		byHandle:      make(map[nvml.Device]*simGPU, len(mc.GPUs)),
	}
	n.share.timeSlice, n.share.mps = map[string]int{}, map[string]string{}
	for i, spec := range mc.GPUs {
		dev, ok := srv.Devices[i].(*server.Device)
		if !ok {
			return nil, fmt.Errorf("simulated NVML for machine %q: go-nvml mock device %d has unexpected type %T",
				mc.Name, i, srv.Devices[i])
		}
		addr, _ := parseSysfsBusID(spec.PCIBusID) // validated above
		model := models[mc.modelOf(i)]
		g := &simGPU{
			index:     i,
			dev:       dev,
			spec:      spec,
			addr:      addr,
			pcieGen:   model.pcieGen,
			serial:    gpuSerial(seed, i),
			maxSlices: maxComputeSlices(model.config.MIGProfiles.GpuInstanceProfiles),
		}
		n.gpus = append(n.gpus, g)
		n.byHandle[dev] = g
	}
	for _, g := range n.gpus {
		n.wireDevice(g)
		completeMock(&g.dev.Device, false)
	}
	n.wireLibrary(srv)
	completeMock(&srv.Interface, true)
	completeMock(&srv.ExtendedInterface, false)
	return n, nil
}

// SetUtilization sets GPU index's simulated utilisation in percent. Power
// draw follows linearly, from IdlePowerWatts at 0% to MaxPowerWatts at
// 100%, as GetPowerUsage reports it.
func (n *NVML) SetUtilization(index, pct int) error {
	g, err := n.gpu(index, "set utilisation")
	if err != nil {
		return err
	}
	if pct < 0 || pct > 100 {
		return fmt.Errorf("set utilisation of GPU %d: %d%% out of range [0, 100]", index, pct)
	}
	g.util.Store(int32(pct))
	return nil
}

// gpu returns GPU index, or an error naming the operation.
func (n *NVML) gpu(index int, op string) (*simGPU, error) {
	if index < 0 || index >= len(n.gpus) {
		return nil, fmt.Errorf("%s: GPU index %d out of range [0, %d)", op, index, len(n.gpus))
	}
	return n.gpus[index], nil
}

// SetMIGMode switches GPU index's MIG mode, as an administrator would
// before the node starts: simulated GPUs boot with MIG disabled. It is
// the same operation as Device.SetMigMode, with its refusals as errors: a
// GPU without MIG support, or disabling while GPU instances exist.
func (n *NVML) SetMIGMode(index int, enabled bool) error {
	g, err := n.gpu(index, "set MIG mode")
	if err != nil {
		return err
	}
	mode, verb := nvml.DEVICE_MIG_DISABLE, "disable"
	if enabled {
		mode, verb = nvml.DEVICE_MIG_ENABLE, "enable"
	}
	switch ret := g.setMigMode(mode); ret {
	case nvml.SUCCESS:
		return nil
	case nvml.ERROR_NOT_SUPPORTED:
		return fmt.Errorf("%s MIG mode of GPU %d (%s): the model has no MIG support: %w", verb, index, g.dev.Config.Name, ret)
	case nvml.ERROR_IN_USE:
		return fmt.Errorf("%s MIG mode of GPU %d: GPU instances still exist: %w", verb, index, ret)
	default:
		return fmt.Errorf("%s MIG mode of GPU %d: %w", verb, index, ret)
	}
}

// InjectXID raises an XID critical error on GPU index, as the driver
// reports a GPU fault: every event set the GPU is registered with for
// EventTypeXidCriticalError receives it, with the XID as EventData and
// both instance IDs 0xFFFFFFFF (the whole GPU). The XID is not checked
// against NVIDIA's catalogue, so tests can use any code but 0, which no
// error has.
func (n *NVML) InjectXID(index int, xid uint64) error {
	g, err := n.xidTarget(index, xid, "inject XID")
	if err != nil {
		return err
	}
	g.deliverXID(xid, wholeDevice, wholeDevice)
	return nil
}

// InjectMIGXID raises an XID critical error attributed to one MIG device:
// like InjectXID, but the event carries the GPU and compute instance IDs,
// which must exist. NVML delivers such events through the parent GPU's
// registration (it has no per-MIG-device registration).
func (n *NVML) InjectMIGXID(index, gpuInstanceID, computeInstanceID int, xid uint64) error {
	g, err := n.xidTarget(index, xid, "inject MIG XID")
	if err != nil {
		return err
	}
	if err := g.migInstanceByID(gpuInstanceID, computeInstanceID); err != nil {
		return fmt.Errorf("inject XID on a MIG device: %w", err)
	}
	g.deliverXID(xid, uint32(gpuInstanceID), uint32(computeInstanceID))
	return nil
}

// xidTarget returns GPU index for an XID injection (op names it in the
// error), refusing XID 0.
func (n *NVML) xidTarget(index int, xid uint64, op string) (*simGPU, error) {
	g, err := n.gpu(index, op)
	if err != nil {
		return nil, err
	}
	if xid == 0 {
		return nil, fmt.Errorf("inject XID on GPU %d: XID 0 does not exist", index)
	}
	return g, nil
}

// InjectECCError raises a single-bit (corrected) or double-bit
// (uncorrected) ECC error event on GPU index, delivered to the event sets
// registered for that type. ECC error counters are not simulated.
func (n *NVML) InjectECCError(index int, doubleBit bool) error {
	g, err := n.gpu(index, "inject ECC error")
	if err != nil {
		return err
	}
	kind := uint64(nvml.EventTypeSingleBitEccError)
	if doubleBit {
		kind = nvml.EventTypeDoubleBitEccError
	}
	g.deliver(nvml.EventData{
		Device:            g.dev,
		EventType:         kind,
		GpuInstanceId:     wholeDevice,
		ComputeInstanceId: wholeDevice,
	})
	return nil
}

// Machine returns a copy of the description the simulation was built from.
func (n *NVML) Machine() *Machine {
	return n.machine.clone()
}

// powerMilliwatts interpolates linearly between idle and max power.
func (g *simGPU) powerMilliwatts() uint32 {
	idle := int64(g.spec.IdlePowerWatts) * 1000
	peak := int64(g.spec.MaxPowerWatts) * 1000
	return uint32(idle + (peak-idle)*int64(g.util.Load())/100)
}

// familyOrder ranks the go-nvml mock machines by age, so that a composed
// machine takes the driver of its newest GPU (an old driver cannot drive a
// new GPU, the reverse works).
var familyOrder = []string{"dgxa100", "dgxh100", "dgxh200", "dgxb200"}

// versions returns the driver, NVML and CUDA driver versions: the base
// mock machine's (or that of the newest family among composed GPUs), with
// DriverVersion overriding the driver and the NVML version following it.
func (m *Machine) versions() (driver, nvmlVersion string, cuda int, err error) {
	family := m.Base
	if family == "" {
		rank := 0
		for i := range m.GPUs {
			f := models[m.modelOf(i)].family
			for r, name := range familyOrder {
				if name == f && r > rank {
					rank = r
				}
			}
		}
		family = familyOrder[rank]
	}
	var ref *server.Server
	switch family {
	case "dgxa100":
		ref = dgxa100.NewWithGPUs()
	case "dgxh100":
		ref = dgxh100.NewWithGPUs()
	case "dgxh200":
		ref = dgxh200.NewWithGPUs()
	case "dgxb200":
		ref = dgxb200.NewWithGPUs()
	default:
		return "", "", 0, fmt.Errorf("no go-nvml mock machine %q", family)
	}
	driver, nvmlVersion, cuda = ref.DriverVersion, ref.NvmlVersion, ref.CudaDriverVersion
	if m.DriverVersion != "" {
		// NVML versions read "<CUDA major>.<driver version>".
		cudaMajor, _, _ := strings.Cut(nvmlVersion, ".")
		driver = m.DriverVersion
		nvmlVersion = cudaMajor + "." + driver
	}
	return driver, nvmlVersion, cuda, nil
}
