package simhw

import (
	"fmt"
	"sync"
)

// sharingState simulates what NVIDIA's host tools change for GPU sharing:
// the compute policy's time-slice level (nvidia-smi compute-policy
// --set-timeslice) and the MPS control daemons (nvidia-cuda-mps-control),
// keyed by GPU UUID. NewSimulatedNVML makes the maps.
type sharingState struct {
	mu        sync.Mutex
	timeSlice map[string]int    // 0 (default) .. 3 (long)
	mps       map[string]string // running daemons: GPU UUID → pipe directory
}

// known reports whether uuid is one of this machine's GPUs.
func (n *NVML) known(uuid string) bool {
	for i := range n.gpus {
		if n.gpus[i].dev.UUID == uuid {
			return true
		}
	}
	return false
}

// SetTimeSlice sets a GPU's time-slice level, as nvidia-smi compute-policy
// --set-timeslice does: 0 default, 1 short, 2 medium, 3 long.
func (n *NVML) SetTimeSlice(uuid string, level int) error {
	if !n.known(uuid) {
		return fmt.Errorf("set time slice: no GPU %s", uuid)
	}
	if level < 0 || level > 3 {
		return fmt.Errorf("set time slice: level %d is not 0..3", level)
	}
	s := &n.share
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeSlice[uuid] = level
	return nil
}

// TimeSlice is a GPU's time-slice level.
func (n *NVML) TimeSlice(uuid string) int {
	s := &n.share
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timeSlice[uuid]
}

// StartMPS starts the simulated MPS control daemon of a GPU, listening in
// pipeDir. Like the real daemon, a second one for the same GPU fails.
func (n *NVML) StartMPS(uuid, pipeDir string) error {
	if !n.known(uuid) {
		return fmt.Errorf("start MPS: no GPU %s", uuid)
	}
	s := &n.share
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, ok := s.mps[uuid]; ok {
		return fmt.Errorf("start MPS: a control daemon for %s already runs in %s", uuid, dir)
	}
	s.mps[uuid] = pipeDir
	return nil
}

// StopMPS stops a GPU's MPS control daemon ("quit"); none running is an
// error, as for the real control tool.
func (n *NVML) StopMPS(uuid string) error {
	s := &n.share
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mps[uuid]; !ok {
		return fmt.Errorf("stop MPS: no control daemon runs for %s", uuid)
	}
	delete(s.mps, uuid)
	return nil
}

// MPSRunning returns the pipe directory of a GPU's MPS daemon, if one runs.
func (n *NVML) MPSRunning(uuid string) (string, bool) {
	s := &n.share
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, ok := s.mps[uuid]
	return dir, ok
}
