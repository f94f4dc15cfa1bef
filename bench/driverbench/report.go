package driverbench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Reference figures of other DRA drivers, measured on the same kind of
// machine (2 cores) with a fake kubelet over the real gRPC API, 1,000
// claims one at a time.
const reference = `Other DRA drivers measured on this kind of machine (fake kubelet over the real gRPC API, 1,000 claims one at a time), quoted as reference: ` +
	`prepare p50 2.4–3.2 ms (dra-example-driver) and 3.7–5.2 ms (NVIDIA's GPU plugin on mock NVML), p99 up to 6.5 / 10.5 ms; ` +
	`RSS 42 and 73 MiB; the first ResourceSlice ~1 s after start (a 1 s cache-sync poll in the shared publishing code).`

// Report writes the result as markdown.
func (r *Result) Report(w io.Writer, command, commit string) {
	fmt.Fprintf(w, "# Driver micro-benchmarks\n\nCommand: `%s`  \nCommit: `%s`", command, commit)
	if r.Uncommitted {
		fmt.Fprint(w, " plus uncommitted changes in the working tree")
	}
	fmt.Fprintf(w, "  \nMachine: %s  \nDate: %s\n\n", r.Host, r.Date.Format("2006-01-02"))
	fmt.Fprintln(w, "Simulated hardware (pkg/simhw: simulated NVML, fake sysfs tree) under the real driver code. "+
		"Publishing, prepare and memory run the real `hadron-kubelet-plugin` binary against a local control plane "+
		"(real etcd, kube-apiserver, kube-controller-manager, hadron-scheduler); each node's kubelet code "+
		"(the kubelet's plugin manager and DRA plugin manager) registers the binary and calls it over gRPC.")
	r.writeDiscovery(w)
	r.writeBuild(w)
	r.writePublish(w)
	r.writePrepare(w)
	r.writeMemory(w)
	fmt.Fprintf(w, "\n## Comparison\n\n%s\n\n%s\n\nTimings on a shared 2-core machine are noisy; compare ratios measured in one run.\n", reference, r.comparison())
}

func (r *Result) writeDiscovery(w io.Writer) {
	fmt.Fprintf(w, "\n## Discovery (in process)\n\nSysfs topology, GPUs through NVML, and the device families built from both: what a driver does at start before it publishes. %d samples per target.\n\n", r.Options.Iterations)
	fmt.Fprintln(w, "| target | GPUs | NUMA nodes | CPUs | NICs | sysfs topology p50 | NVML p50 | families p50 | total p50 | total p90 | total p99 | total max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, in := range r.InProcess {
		total := Summarize(in.Discovery)
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s | %s | %s | %s |\n", in.Target, in.GPUs, in.NUMANodes, in.CPUs, in.NICs,
			dur(Summarize(in.Topology).P50), dur(Summarize(in.NVML).P50), dur(Summarize(in.Families).P50), total.cells())
	}
}

func (r *Result) writeBuild(w io.Writer) {
	fmt.Fprintf(w, "\n## ResourceSlice build (in process)\n\nEvery family's `Resources` (GPU rediscovery and MIG layouts included), as the publishing code asks for them. %d samples per target.\n\n", r.Options.Iterations)
	fmt.Fprintln(w, "| target | slices (gpu/cpu/nic) | devices (gpu/cpu/nic) | samples | p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, in := range r.InProcess {
		s := Summarize(in.Build)
		slices, devices := poolColumns(in.Pools)
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s |\n", in.Target, slices, devices, s.N, s.cells())
	}
}

func (r *Result) writePublish(w io.Writer) {
	fmt.Fprint(w, "\n## ResourceSlice publish (plugin binary → kube-apiserver)\n\n"+
		"From starting `hadron-kubelet-plugin` on a node without ResourceSlices until every driver's pool (gpu, cpu, nic) "+
		"is complete and readable in the API server (polled every 5 ms): process start, discovery, slice build and the "+
		"kubelet-plugin helper's publishing. `hadron bench startup` times the same publishing for an in-process driver restart "+
		"(GPU pool only) in bench/results/startup.md.\n\n")
	fmt.Fprintln(w, "| target | slices (gpu/cpu/nic) | devices (gpu/cpu/nic) | samples | gpu pool p50 | cpu pool p50 | nic pool p50 | all pools p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range r.Publish {
		s := Summarize(p.Samples)
		slices, devices := poolColumns(p.Pools)
		perDriver := make([]string, len(drivers))
		for i := range perDriver {
			perDriver[i] = "–"
			if i < len(p.PerDriver) {
				perDriver[i] = dur(Summarize(p.PerDriver[i]).P50)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s |\n", p.Target, slices, devices, s.N, strings.Join(perDriver, " | "), s.cells())
	}
}

func (r *Result) writePrepare(w io.Writer) {
	fmt.Fprintf(w, "\n## Prepare and unprepare (kubelet DRA client → plugin binary over gRPC)\n\n"+
		"%d claims per kind, one at a time: each is created, allocated by the upstream structured allocator over the node's "+
		"published slices (allocation written to its status, as the scheduler does), prepared with NodePrepareResources, "+
		"unprepared with NodeUnprepareResources and deleted; only the two gRPC calls are timed. A prepare includes the "+
		"plugin's GET of the claim, the checkpoint writes and the CDI spec.\n\n", r.Options.Claims)
	fmt.Fprintln(w, "| claim | target | device | samples | prepare p50 | p90 | p99 | max | unprepare p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range r.Prepare {
		pr, un := Summarize(p.Prepare), Summarize(p.Unprepare)
		fmt.Fprintf(w, "| %s | %s | `%s` | %d | %s | %s |\n", p.Kind, p.Target, p.Device, pr.N, pr.cells(), un.cells())
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "\nNot measured: %s.\n", strings.Join(r.Skipped, "; "))
	}
}

func (r *Result) writeMemory(w io.Writer) {
	fmt.Fprintf(w, "\n## Memory of hadron-kubelet-plugin\n\nVmRSS and VmHWM of the binary's process (/proc/<pid>/status); flags %s.\n\n", pluginFlags)
	fmt.Fprintln(w, "| target | RSS after publish | HWM after publish | claims prepared | RSS after claims | HWM after claims |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, m := range r.Memory {
		rss, hwm := "–", "–"
		if m.AfterLoad != nil {
			rss, hwm = mib(m.AfterLoad.RSS), mib(m.AfterLoad.HWM)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %s |\n", m.Target, mib(m.AfterPublish.RSS), mib(m.AfterPublish.HWM), m.Claims, rss, hwm)
	}
}

// comparison is hadron's line to set beside the reference figures.
func (r *Result) comparison() string {
	var parts []string
	if len(r.Prepare) > 0 {
		var p50s []time.Duration
		var p99 time.Duration
		for _, p := range r.Prepare {
			s := Summarize(p.Prepare)
			p50s, p99 = append(p50s, s.P50), max(p99, s.P99)
		}
		parts = append(parts, fmt.Sprintf("prepare p50 %s over the %d claim kinds, p99 up to %s", durRange(p50s), len(r.Prepare), dur(p99)))
	}
	if len(r.Memory) > 0 {
		var peak int64
		for _, m := range r.Memory {
			peak = max(peak, m.AfterPublish.HWM)
			if m.AfterLoad != nil {
				peak = max(peak, m.AfterLoad.HWM)
			}
		}
		parts = append(parts, fmt.Sprintf("peak RSS %s (three drivers in one process)", mib(peak)))
	}
	if len(r.Publish) > 0 {
		var first, all []time.Duration
		for _, p := range r.Publish {
			all = append(all, Summarize(p.Samples).P50)
			if len(p.PerDriver) > 0 {
				first = append(first, Summarize(p.PerDriver[0]).P50)
			}
		}
		parts = append(parts, fmt.Sprintf("first pool (%s) readable %s after the process starts, all three pools %s (p50 over the targets)",
			drivers[0], durRange(first), durRange(all)))
	}
	if len(parts) == 0 {
		return "hadron: nothing measured."
	}
	return "hadron, this run: " + strings.Join(parts, "; ") + "."
}

// durRange formats the smallest and largest of ds as "lo–hi".
func durRange(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	lo, hi := slices.Min(ds), slices.Max(ds)
	if lo == hi {
		return dur(lo)
	}
	return dur(lo) + "–" + dur(hi)
}

// poolColumns formats pool sizes as "gpu/cpu/nic" columns.
func poolColumns(pools []PoolSize) (slices, devices string) {
	var s, d []string
	for _, p := range pools {
		s = append(s, fmt.Sprint(p.Slices))
		d = append(d, fmt.Sprint(p.Devices))
	}
	return strings.Join(s, "/"), strings.Join(d, "/")
}

// cells formats s's p50, p90, p99 and max as four table cells.
func (s Summary) cells() string {
	return strings.Join([]string{dur(s.P50), dur(s.P90), dur(s.P99), dur(s.Max)}, " | ")
}

// dur formats a duration with three significant digits in a unit that
// suits it.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
