package reclaim

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/hadron-sched/hadron/driver/gpu/realnvmltest"
)

// TestRealNVMLUtilization reads every GPU's utilisation through the path
// the reclaimer uses and compares it with nvidia-smi. It only reads, and
// runs where HADRON_REAL_NVML=1 is set (a GPU host); the simulated NVML
// covers the same code everywhere else.
func TestRealNVMLUtilization(t *testing.T) {
	lib := realnvmltest.Open(t)
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS || count == 0 {
		t.Fatalf("NVML device count %d: %s", count, nvml.ErrorString(ret))
	}
	src := NodeGPUs{NVML: lib}
	for i := range count {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			t.Fatalf("GPU %d: %s", i, nvml.ErrorString(ret))
		}
		uuid, ret := dev.GetUUID()
		if ret != nvml.SUCCESS {
			t.Fatalf("GPU %d UUID: %s", i, nvml.ErrorString(ret))
		}
		got, err := src.Utilization(uuid)
		if err != nil {
			t.Fatalf("GPU %d (%s): %v", i, uuid, err)
		}
		if got < 0 || got > 100 {
			t.Errorf("GPU %d: utilisation %d%% out of range", i, got)
		}
		out, err := exec.Command("nvidia-smi", "-i", uuid, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits").Output()
		if err != nil {
			t.Logf("GPU %d: %d%% (nvidia-smi not usable: %v)", i, got, err)
			continue
		}
		smi, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("nvidia-smi output %q: %v", out, err)
		}
		t.Logf("GPU %d (%s): utilisation %d%%, nvidia-smi %d%%", i, uuid, got, smi)
		// Both sample the same counter moments apart; an idle GPU reads
		// 0 in both, a busy one within a few percent.
		if d := got - smi; d > 10 || d < -10 {
			t.Errorf("GPU %d: utilisation %d%%, nvidia-smi %d%%", i, got, smi)
		}
	}
	if _, err := src.Utilization("GPU-00000000-0000-0000-0000-000000000000"); err == nil {
		t.Error("utilisation of an unknown UUID: no error")
	}
}
