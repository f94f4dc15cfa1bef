package schedperf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchmarkName is the Go benchmark that Run builds and runs.
const benchmarkName = "BenchmarkSchedulingDRA"

// pkgPath is the package that holds the benchmark.
const pkgPath = "github.com/hadron-sched/hadron/bench/schedperf"

// Options sizes a run.
type Options struct {
	// BinDir holds etcd, which scheduler_perf starts for each workload;
	// empty means etcd is on PATH.
	BinDir string
	// Label picks the workloads: LabelPerformance or LabelSmoke.
	Label string
	// Count is how often each workload runs per variant. The variants
	// alternate which goes first, so that a change of load on the
	// machine does not favour one.
	Count int
	// WorkDir keeps the benchmark binary, its logs and scheduler_perf's
	// JSON results; empty means a temporary directory, removed after a
	// successful run.
	WorkDir string
	// Progress receives a line per run.
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Label      string
	Count      int
	Kubernetes string // k8s.io/kubernetes module version
	// Uncommitted tells that the benchmark was built from a working tree
	// that differs from the reported commit; the caller knows.
	Uncommitted bool
	TempFS      string // file system type of the temporary directory (etcd's data)
	Started     time.Time
	Elapsed     time.Duration
	Workloads   []WorkloadResult
}

// WorkloadResult holds one workload's runs.
type WorkloadResult struct {
	SourceWorkload
	// Runs are by variant name, in the order they ran.
	Runs map[string][]Measurement
	// Load is the machine's one-minute load average before each of the
	// workload's runs.
	Load []float64
}

// Measurement is what scheduler_perf measured in one run of a workload
// with one variant, while the workload's measured pods were scheduled.
// A value is NaN where scheduler_perf reported none.
type Measurement struct {
	// Average and Perc50 are SchedulingThroughput: pods scheduled per
	// second, sampled every second. A workload whose pods are scheduled
	// within one sample has none.
	Average, Perc50 float64
	// AttemptAverage and AttemptPerc50 are the milliseconds of the
	// scheduling attempts that scheduled a pod
	// (scheduler_scheduling_attempt_duration_seconds).
	AttemptAverage, AttemptPerc50 float64
	// Runtime is the benchmark process's wall time: etcd, API server
	// and scheduler start, the workload's setup and its measured part.
	Runtime time.Duration
}

// Run builds BenchmarkSchedulingDRA and runs the workloads of
// opts.Label, each opts.Count times per variant. It runs in the hadron
// module: the benchmark is built from it, with the Go toolchain on PATH.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Count < 1 {
		opts.Count = 1
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	workloads := Selected(opts.Label)
	if len(workloads) == 0 {
		return nil, fmt.Errorf("no workloads labelled %q (labels: %s, %s)", opts.Label, LabelPerformance, LabelSmoke)
	}
	env, err := benchEnv(opts.BinDir)
	if err != nil {
		return nil, err
	}
	pkgDir, err := goList(ctx, "-f", "{{.Dir}}", pkgPath)
	if err != nil {
		return nil, fmt.Errorf("run this from the hadron checkout: %w", err)
	}
	k8sVersion, err := goList(ctx, "-m", "-f", "{{.Version}}", "k8s.io/kubernetes")
	if err != nil {
		return nil, err
	}
	work := opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "schedperf-"); err != nil {
			return nil, err
		}
	} else if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	res, err := run(ctx, opts, workloads, env, pkgDir, work)
	if err != nil {
		return nil, fmt.Errorf("%w (logs in %s)", err, work)
	}
	res.Kubernetes = k8sVersion
	if opts.WorkDir == "" {
		_ = os.RemoveAll(work)
	}
	return res, nil
}

func run(ctx context.Context, opts Options, workloads []SourceWorkload, env []string, pkgDir, work string) (*Result, error) {
	res := &Result{Label: opts.Label, Count: opts.Count, TempFS: fsType(os.TempDir()), Started: time.Now()}
	binary := filepath.Join(work, "schedperf.test")
	fmt.Fprintf(opts.Progress, "building %s (go test -c %s)\n", benchmarkName, pkgPath)
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", binary, ".")
	build.Dir = pkgDir
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the benchmark: %w\n%s", err, out)
	}
	total := len(workloads) * len(Variants) * opts.Count
	n := 0
	for _, w := range workloads {
		wr := WorkloadResult{SourceWorkload: w, Runs: map[string][]Measurement{}}
		for rep := range opts.Count {
			// Alternate which variant goes first.
			order := slices.Clone(Variants)
			if rep%2 == 1 {
				slices.Reverse(order)
			}
			for _, v := range order {
				n++
				wr.Load = append(wr.Load, loadAverage())
				dir := filepath.Join(work, fmt.Sprintf("%03d-%s", n, v.Name))
				t, err := runOnce(ctx, binary, pkgDir, dir, env, opts.Label, v, w)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", v.Name, w.ID(), err)
				}
				wr.Runs[v.Name] = append(wr.Runs[v.Name], t)
				fmt.Fprintf(opts.Progress, "[%d/%d] %-7s %s: %s; %s\n", n, total, v.Name, w.ID(), t, t.Runtime.Round(time.Second))
			}
		}
		res.Workloads = append(res.Workloads, wr)
	}
	res.Elapsed = time.Since(res.Started)
	return res, nil
}

func (m Measurement) String() string {
	if math.IsNaN(m.Average) {
		return "no throughput (scheduled within one sample)"
	}
	return fmt.Sprintf("%.1f pods/s (p50 %.1f)", m.Average, m.Perc50)
}

// BenchArgs are the benchmark binary's arguments for one workload and
// variant.
func BenchArgs(label string, v Variant, w SourceWorkload, dataDir string) []string {
	pattern := strings.Join([]string{benchmarkName, v.Name, w.Source, w.TestCase, w.Name}, "$/^")
	return []string{
		"-test.run", "^$",
		"-test.bench", "^" + pattern + "$",
		// Each workload is one measurement; a longer benchtime would
		// rerun it.
		"-test.benchtime", "1x",
		"-test.timeout", "30m",
		"-perf-scheduling-label-filter", label,
		"-data-items-dir", dataDir,
	}
}

// runOnce runs one workload with one variant in dir, a new directory
// for its JSON results and logs.
func runOnce(ctx context.Context, binary, pkgDir, dir string, env []string, label string, v Variant, w SourceWorkload) (Measurement, error) {
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return Measurement{}, err
	}
	logFile, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		return Measurement{}, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.CommandContext(ctx, binary, BenchArgs(label, v, w, filepath.Join(dir, "data"))...)
	cmd.Dir = pkgDir
	// ARTIFACTS makes scheduler_perf log each workload to its own file
	// there, kept only when the workload fails.
	cmd.Env = append(slices.Clone(env), "ARTIFACTS="+logs)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return Measurement{}, fmt.Errorf("%w: %s", err, failures(logFile.Name()))
	}
	elapsed := time.Since(start)
	name := benchmarkName + "/" + v.Name + "/" + w.ID()
	if err := checkRan(logFile.Name(), name); err != nil {
		return Measurement{}, err
	}
	m, err := readMeasurement(filepath.Join(dir, "data"), name+"/")
	if err != nil {
		return Measurement{}, err
	}
	m.Runtime = elapsed
	return m, nil
}

// benchEnv returns the environment of the benchmark binary: etcd from
// binDir first on PATH.
func benchEnv(binDir string) ([]string, error) {
	env := os.Environ()
	if binDir == "" {
		if _, err := exec.LookPath("etcd"); err != nil {
			return nil, errors.New("etcd is not on PATH; build it with `make build` and pass its directory (_output/bin)")
		}
		return env, nil
	}
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, "etcd")); err != nil {
		return nil, fmt.Errorf("no etcd in %s; build it with `make build`: %w", binDir, err)
	}
	return append(env, "PATH="+abs+string(os.PathListSeparator)+os.Getenv("PATH")), nil
}

// dataItems is scheduler_perf's JSON result file.
type dataItems struct {
	DataItems []struct {
		Data   map[string]float64 `json:"data"`
		Unit   string             `json:"unit"`
		Labels map[string]string  `json:"labels"`
	} `json:"dataItems"`
}

// readMeasurement reads the data items of one run from scheduler_perf's
// JSON files in dir: those whose Name (the benchmark's name, then the
// measured namespace) starts with prefix.
func readMeasurement(dir, prefix string) (Measurement, error) {
	nan := math.NaN()
	m := Measurement{Average: nan, Perc50: nan, AttemptAverage: nan, AttemptPerc50: nan}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return m, err
	}
	if len(files) == 0 {
		return m, fmt.Errorf("scheduler_perf wrote no results into %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return m, err
		}
		var items dataItems
		if err := json.Unmarshal(data, &items); err != nil {
			return m, fmt.Errorf("%s: %w", f, err)
		}
		for _, item := range items.DataItems {
			if !strings.HasPrefix(item.Labels["Name"], prefix) {
				continue
			}
			switch {
			case item.Labels["Metric"] == "SchedulingThroughput":
				m.Average, m.Perc50 = value(item.Data, "Average"), value(item.Data, "Perc50")
			case item.Labels["Metric"] == "scheduler_scheduling_attempt_duration_seconds" && item.Labels["result"] == "scheduled" && item.Unit == "ms":
				m.AttemptAverage, m.AttemptPerc50 = value(item.Data, "Average"), value(item.Data, "Perc50")
			}
		}
	}
	return m, nil
}

func value(data map[string]float64, bucket string) float64 {
	if v, ok := data[bucket]; ok {
		return v
	}
	return math.NaN()
}

// checkRan fails unless the log has the benchmark's result line for
// name: a workload that the label filter skips passes without results.
func checkRan(logPath, name string) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		// The result line: the name, a -GOMAXPROCS suffix, then b.N.
		if rest, ok := strings.CutPrefix(sc.Text(), name+"-"); ok && strings.Contains(rest, "\t") {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s did not run; see %s", name, logPath)
}

// failures returns the lines of a failed run that say why, for the
// error message.
func failures(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return err.Error()
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--- FAIL") || strings.HasPrefix(t, "--- SKIP") || (strings.Contains(t, ".go:") && !strings.Contains(t, "] ")) {
			out = append(out, t)
		}
	}
	if len(out) > 20 {
		out = out[len(out)-20:]
	}
	if len(out) == 0 {
		return "see " + logPath
	}
	return strings.Join(out, "\n")
}

func goList(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w%s", strings.Join(args, " "), err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// loadAverage returns the one-minute load average, or -1 where the
// system does not tell.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// fsType returns the type of the file system holding dir, from the
// longest matching mount point, or "unknown".
func fsType(dir string) string {
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "unknown"
	}
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		return "unknown"
	}
	best, typ := "", "unknown"
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mount := f[1]
		if (dir == mount || strings.HasPrefix(dir, strings.TrimSuffix(mount, "/")+"/")) && len(mount) > len(best) {
			best, typ = mount, f[2]
		}
	}
	return typ
}

// CPUModel returns the processor model, or the architecture where the
// system does not tell.
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
