package gpu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/gpu/api/v1alpha1"
)

// SharingControl applies a sharing strategy to a GPU: the compute
// policy's time slice, and MPS control daemons. On a real node NVIDIA's
// host tools do it (NVIDIATools); on simulated hardware the simulation
// records it.
type SharingControl interface {
	SetTimeSlice(ctx context.Context, uuid string, level int) error
	StartMPS(ctx context.Context, uuid, pipeDir, logDir string) error
	StopMPS(ctx context.Context, uuid, pipeDir string) error
}

// NVIDIATools runs nvidia-smi and nvidia-cuda-mps-control from the host's
// NVIDIA driver installation.
type NVIDIATools struct {
	// SMI and MPSControl are the tools' paths; empty means found in PATH.
	SMI, MPSControl string
}

// SetTimeSlice implements SharingControl.
func (t NVIDIATools) SetTimeSlice(ctx context.Context, uuid string, level int) error {
	return run(exec.CommandContext(ctx, orDefault(t.SMI, "nvidia-smi"), "compute-policy", "-i", uuid, "--set-timeslice="+strconv.Itoa(level)))
}

// StartMPS implements SharingControl: a daemon per GPU, confined to it.
func (t NVIDIATools) StartMPS(ctx context.Context, uuid, pipeDir, logDir string) error {
	cmd := exec.CommandContext(ctx, orDefault(t.MPSControl, "nvidia-cuda-mps-control"), "-d")
	cmd.Env = append(os.Environ(), "CUDA_VISIBLE_DEVICES="+uuid, "CUDA_MPS_PIPE_DIRECTORY="+pipeDir, "CUDA_MPS_LOG_DIRECTORY="+logDir)
	return run(cmd)
}

// StopMPS implements SharingControl.
func (t NVIDIATools) StopMPS(ctx context.Context, _, pipeDir string) error {
	cmd := exec.CommandContext(ctx, orDefault(t.MPSControl, "nvidia-cuda-mps-control"))
	cmd.Env = append(os.Environ(), "CUDA_MPS_PIPE_DIRECTORY="+pipeDir)
	cmd.Stdin = strings.NewReader("quit\n")
	return run(cmd)
}

func run(cmd *exec.Cmd) error {
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// gpuSharing counts a GPU's prepared shares per strategy, so that the
// GPU-wide settings are applied by the first share and undone by the last.
type gpuSharing struct {
	timeSliced int
	level      int
	mps        int
}

// containerMPSPipe is where a container finds its GPU's MPS daemon.
const containerMPSPipe = "/var/run/hadron/mps"

func (f *Family) mpsDirs(uuid string) (pipe, log string) {
	base := filepath.Join(f.mpsRoot, strings.ToLower(uuid))
	return filepath.Join(base, "pipe"), filepath.Join(base, "log")
}

// acquireSharing applies a share's strategy to its GPU. Time-sliced shares
// of one GPU must agree on the interval, which is a property of the GPU.
func (f *Family) acquireSharing(ctx context.Context, s share) error {
	st := f.sharingOf(s.UUID)
	switch s.Strategy {
	case string(v1alpha1.MPS):
		if st.mps == 0 {
			pipe, logDir := f.mpsDirs(s.UUID)
			for _, d := range []string{pipe, logDir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("MPS directory: %w", err)
				}
			}
			if err := f.sharingCtl.StartMPS(ctx, s.UUID, pipe, logDir); err != nil {
				return fmt.Errorf("start MPS control daemon for GPU %s: %w", s.UUID, err)
			}
		}
		st.mps++
	default:
		level, _ := v1alpha1.TimeSliceInterval(s.Interval).Level()
		if st.timeSliced > 0 && st.level != level {
			return fmt.Errorf("GPU %s is time-sliced at interval %s for other claims; ask for that interval or another GPU",
				s.UUID, intervalName(st.level))
		}
		if st.timeSliced == 0 && level != 0 {
			if err := f.sharingCtl.SetTimeSlice(ctx, s.UUID, level); err != nil {
				return fmt.Errorf("set time slice of GPU %s: %w", s.UUID, err)
			}
		}
		st.timeSliced++
		st.level = level
	}
	return nil
}

// releaseSharing undoes acquireSharing once the GPU's last share of that
// strategy is gone: the daemon stops, the time slice returns to default.
func (f *Family) releaseSharing(ctx context.Context, s share) error {
	st := f.sharingOf(s.UUID)
	switch s.Strategy {
	case string(v1alpha1.MPS):
		if st.mps == 0 {
			return nil
		}
		if st.mps == 1 {
			pipe, _ := f.mpsDirs(s.UUID)
			if err := f.sharingCtl.StopMPS(ctx, s.UUID, pipe); err != nil {
				return fmt.Errorf("stop MPS control daemon for GPU %s: %w", s.UUID, err)
			}
		}
		st.mps--
	default:
		if st.timeSliced == 0 {
			return nil
		}
		if st.timeSliced == 1 && st.level != 0 {
			if err := f.sharingCtl.SetTimeSlice(ctx, s.UUID, 0); err != nil {
				return fmt.Errorf("reset time slice of GPU %s: %w", s.UUID, err)
			}
		}
		st.timeSliced--
	}
	return nil
}

func (f *Family) sharingOf(uuid string) *gpuSharing {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sharing == nil {
		f.sharing = map[string]*gpuSharing{}
	}
	st, ok := f.sharing[uuid]
	if !ok {
		st = &gpuSharing{}
		f.sharing[uuid] = st
	}
	return st
}

func intervalName(level int) string {
	for _, i := range []v1alpha1.TimeSliceInterval{v1alpha1.DefaultTimeSlice, v1alpha1.ShortTimeSlice, v1alpha1.MediumTimeSlice, v1alpha1.LongTimeSlice} {
		if l, _ := i.Level(); l == level {
			return string(i)
		}
	}
	return strconv.Itoa(level)
}

// mpsEdits lets the container reach its GPU's MPS daemon.
func (f *Family) mpsEdits(uuid string) cdispec.ContainerEdits {
	pipe, _ := f.mpsDirs(uuid)
	return cdispec.ContainerEdits{
		Env:    []string{"CUDA_MPS_PIPE_DIRECTORY=" + containerMPSPipe},
		Mounts: []*cdispec.Mount{{HostPath: pipe, ContainerPath: containerMPSPipe, Options: []string{"rbind", "rw"}}},
	}
}
