package driverbench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDur(t *testing.T) {
	tests := map[time.Duration]string{
		1500 * time.Nanosecond:   "2 µs",
		279 * time.Microsecond:   "279 µs",
		3810 * time.Microsecond:  "3.81 ms",
		73240 * time.Microsecond: "73.2 ms",
		3143 * time.Millisecond:  "3.143 s",
	}
	for d, want := range tests {
		if got := dur(d); got != want {
			t.Errorf("dur(%v) = %q, want %q", d, got, want)
		}
	}
	if got := durRange([]time.Duration{5 * time.Millisecond, 2 * time.Millisecond}); got != "2.00 ms–5.00 ms" {
		t.Errorf("durRange = %q", got)
	}
	if got := durRange(nil); got != "–" {
		t.Errorf("durRange(nil) = %q", got)
	}
}

// TestReportLayout renders a hand-made result: every section, a row per
// measured item, a dash for memory not measured after claims, and the
// kinds that were skipped.
func TestReportLayout(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	r := &Result{
		Options: Options{Iterations: 2, Publish: 1, Claims: 2},
		Host:    "Test CPU, 2 CPUs (linux/amd64)",
		InProcess: []*InProcess{{
			Target: "workstation", GPUs: 2, NUMANodes: 1, CPUs: 32, NICs: 1,
			Topology: []time.Duration{ms(1), ms(2)}, NVML: []time.Duration{ms(1), ms(1)}, Families: []time.Duration{ms(1), ms(1)},
			Discovery: []time.Duration{ms(3), ms(4)}, Build: []time.Duration{ms(1), ms(2)},
			Pools: []PoolSize{{Driver: "gpu.hadron.dev", Slices: 1, Devices: 2}, {Driver: "cpu.hadron.dev", Slices: 1, Devices: 1}, {Driver: "nic.hadron.dev", Slices: 1, Devices: 0}},
		}},
		Publish: []*Publish{{Target: "workstation", Samples: []time.Duration{ms(3000)},
			Pools:     []PoolSize{{Driver: "gpu.hadron.dev", Slices: 1, Devices: 2}, {Driver: "cpu.hadron.dev", Slices: 1, Devices: 1}, {Driver: "nic.hadron.dev", Slices: 1, Devices: 0}},
			PerDriver: [][]time.Duration{{ms(1000)}, {ms(2000)}, {ms(3000)}}}},
		Prepare: []*Prepare{{Kind: "whole GPU", Target: "workstation", Device: "gpu-1",
			Prepare: []time.Duration{ms(5), ms(6)}, Unprepare: []time.Duration{ms(1), ms(2)}}},
		Memory:  []*PluginMemory{{Target: "workstation", AfterPublish: Memory{RSS: 80 << 20, HWM: 81 << 20}}},
		Skipped: []string{"MIG partition (needs target dgxa100:mig)"},
	}
	var buf bytes.Buffer
	r.Report(&buf, "hadron bench driver", "abc1234")
	text := buf.String()
	for _, want := range []string{
		"Command: `hadron bench driver`",
		"Commit: `abc1234`",
		"| workstation | 2 | 1 | 32 | 1 | 1.00 ms | 1.00 ms | 1.00 ms | 3.00 ms | 4.00 ms |",
		"| workstation | 1/1/1 | 2/1/0 | 2 |",
		"| workstation | 1/1/1 | 2/1/0 | 1 | 1.000 s | 2.000 s | 3.000 s | 3.000 s |",
		"| whole GPU | workstation | `gpu-1` | 2 | 5.00 ms | 6.00 ms | 6.00 ms | 6.00 ms | 1.00 ms | 2.00 ms |",
		"| workstation | 80.0 MiB | 81.0 MiB | 0 | – | – |",
		"Not measured: MIG partition (needs target dgxa100:mig).",
		"hadron, this run: prepare p50 5.00 ms over the 1 claim kinds, p99 up to 6.00 ms; peak RSS 81.0 MiB",
		"first pool (gpu.hadron.dev) readable 1.000 s after the process starts, all three pools 3.000 s",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", text)
	}
}
