package gpu

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/hadron-sched/hadron/driver/gpu/realnvmltest"
	"github.com/hadron-sched/hadron/pkg/attrs"
)

// TestRealNVML runs discovery against the host's NVIDIA driver. It only
// reads: no MIG mode, clock or power-limit change. It runs where
// HADRON_REAL_NVML=1 is set (a GPU host); everywhere else it is skipped,
// since the simulated machines cover the same code.
func TestRealNVML(t *testing.T) {
	lib := realnvmltest.Open(t)
	host, err := Discover(lib, "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(host.GPUs) == 0 {
		t.Fatal("NVML reports no GPU")
	}
	t.Logf("driver %s, CUDA %s, %d GPU(s)", host.DriverVersion, host.CUDADriverVersion, len(host.GPUs))
	for _, g := range host.GPUs {
		numa := "none"
		if g.NUMANode != nil {
			numa = strconv.Itoa(*g.NUMANode)
		}
		t.Logf("GPU %d: %s %s arch=%s cc=%s mem=%d MiB bus=%s root=%s numa=%s idle=%d W max=%d W",
			g.Index, g.UUID, g.ProductName, g.Architecture, g.ComputeCapability, g.MemoryBytes>>20,
			g.PCIBusID, g.PCIeRoot, numa, g.IdlePowerWatts, g.MaxPowerWatts)
		if !strings.HasPrefix(g.UUID, "GPU-") || g.ProductName == "" || g.MemoryBytes == 0 {
			t.Errorf("GPU %d: incomplete identity %+v", g.Index, g)
		}
		dir := filepath.Join("/sys/bus/pci/devices", g.PCIBusID)
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("GPU %d: bus ID %s not in sysfs: %v", g.Index, g.PCIBusID, err)
		}
		if raw, err := os.ReadFile(filepath.Join(dir, "numa_node")); err == nil {
			n, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
			if n >= 0 && (g.NUMANode == nil || *g.NUMANode != n) {
				t.Errorf("GPU %d: NUMA node %s, sysfs says %d", g.Index, numa, n)
			}
		}
		if g.PCIeRoot == "" || g.MaxPowerWatts <= 0 || g.IdlePowerWatts <= 0 || g.IdlePowerWatts > g.MaxPowerWatts {
			t.Errorf("GPU %d: topology or power missing: root=%q idle=%d max=%d", g.Index, g.PCIeRoot, g.IdlePowerWatts, g.MaxPowerWatts)
		}
		dev, _ := lib.DeviceGetHandleByIndex(g.Index)
		if mw, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS {
			t.Logf("GPU %d: drawing %.1f W now", g.Index, float64(mw)/1000)
		}
		if cur, pending, ret := dev.GetMigMode(); ret == nvml.SUCCESS {
			t.Logf("GPU %d: MIG mode current=%d pending=%d", g.Index, cur, pending)
		}
	}
	compareWithNvidiaSMI(t, host)

	res, err := NewFamily("real", lib, "/", nil).Resources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range res.Pools["real"].Slices {
		for _, d := range s.Devices {
			n++
			if d.Attributes[attrs.GPUUUID].StringValue == nil || d.Attributes[attrs.PCIeRoot].StringValue == nil {
				t.Errorf("device %s lacks identity or topology attributes", d.Name)
			}
		}
	}
	if n != len(host.GPUs) {
		t.Errorf("published %d whole-GPU devices for %d GPUs", n, len(host.GPUs))
	}
}

// compareWithNvidiaSMI checks discovery against nvidia-smi, when present.
func compareWithNvidiaSMI(t *testing.T, host *Host) {
	out, err := exec.Command("nvidia-smi", "--query-gpu=index,uuid,pci.bus_id,name,power.default_limit", "--format=csv,noheader,nounits").Output()
	if err != nil {
		t.Logf("nvidia-smi not usable, not compared: %v", err)
		return
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		t.Fatalf("nvidia-smi output: %v", err)
	}
	if len(rows) != len(host.GPUs) {
		t.Fatalf("nvidia-smi lists %d GPUs, NVML discovery %d", len(rows), len(host.GPUs))
	}
	for i, row := range rows {
		for j := range row {
			row[j] = strings.TrimSpace(row[j])
		}
		g := host.GPUs[i]
		bus, err := normalizeBusID(row[2])
		if err != nil {
			t.Errorf("nvidia-smi bus ID %q: %v", row[2], err)
		}
		limit, _ := strconv.ParseFloat(row[4], 64)
		if row[1] != g.UUID || bus != g.PCIBusID || row[3] != g.ProductName || int(limit) != g.MaxPowerWatts {
			t.Errorf("GPU %d: nvidia-smi %v, discovery %s %s %s %d W", i, row, g.UUID, g.PCIBusID, g.ProductName, g.MaxPowerWatts)
		}
	}
}
