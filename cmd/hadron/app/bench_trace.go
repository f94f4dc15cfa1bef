package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/bench/progress"
	"github.com/hadron-sched/hadron/bench/replay"
	"github.com/hadron-sched/hadron/bench/schedperf"
	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/bench/tracereport"
	"github.com/hadron-sched/hadron/pkg/localcluster"
)

const (
	// quickNodes is the size of the --quick cluster: enough nodes that
	// every GPU model of the trace keeps a few, few enough that a policy
	// replays in well under a minute.
	quickNodes = 40
	// traceExcerptDir holds, relative to the repository root, the
	// committed excerpt of the openb traces that --quick falls back to
	// (trace.Excerpt, embedded in the binary).
	traceExcerptDir = "bench/trace/testdata"
	// defaultTraceOut is where a full run's report goes.
	defaultTraceOut = "bench/results/trace"
	// checkpointSubdir, in the results directory, holds each completed
	// policy's result until the report is written.
	checkpointSubdir = "policies"
)

// traceExcerptFiles name the excerpt's files in reports.
var traceExcerptFiles = []string{
	traceExcerptDir + "/openb_node_list_excerpt.csv",
	traceExcerptDir + "/openb_pod_list_default_excerpt.csv",
}

// benchTraceOptions are the flags of `hadron bench trace`.
type benchTraceOptions struct {
	traceDir     string
	nodeList     string
	podList      string
	seed         int64
	mode         string
	targetDemand float64
	policies     []string
	nodesToScore int32
	concurrency  int
	resume       bool
	quick        bool
	nodes        int
	onMalformed  string
	binDir       string
	out          string
	workDir      string
}

func newBenchTraceCommand() *cobra.Command {
	o := &benchTraceOptions{}
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Replay a GPU-cluster trace (Alibaba openb) with hadron and other scheduling policies, and report allocation, power, fragmentation and latency",
		Long: `Reads an openb node list and pod list, builds a simulated cluster and a
seeded workload from them (bench/trace), replays it one pod at a time
through a real kube-scheduler on the local control plane, once per policy
(bench/replay), and writes a Markdown report with plots (bench/tracereport).

--quick samples 40 nodes (stratified by GPU model) and replays the pods
that fill them; it takes a few minutes. Without the full traces next to the
repository it uses the excerpt committed in bench/trace/testdata.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := o.run(cmd)
			return err
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (o *benchTraceOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.traceDir, "trace-dir", trace.DefaultDir, "directory with the openb trace files")
	f.StringVar(&o.nodeList, "node-list", trace.NodeListGPU, "node list file in --trace-dir")
	f.StringVar(&o.podList, "pod-list", trace.PodListDefault, "pod list file in --trace-dir")
	f.Int64Var(&o.seed, "seed", 1, "seed of the node sample, arrival order and synthesised tenants")
	f.StringVar(&o.mode, "mode", string(trace.DemandMode), "how pods arrive: demand (seeded order until --target-demand) or departures (the trace's own creation and deletion times)")
	f.Float64Var(&o.targetDemand, "target-demand", trace.DefaultTargetDemand, "demand mode: stop once the arrived GPU demand reaches this share of the cluster's GPUs")
	f.StringSliceVar(&o.policies, "policies", nil, "policies to compare, comma-separated (default: all of "+strings.Join(replay.PolicyNames(), ",")+")")
	f.Int32Var(&o.nodesToScore, "percentage-of-nodes-to-score", replay.ScoreAllNodes,
		"the scheduler's percentageOfNodesToScore for every policy: 100 filters and scores every node for every pod, as the papers' simulators do; 0 is kube-scheduler's adaptive default, as deployed (faster on large clusters)")
	f.IntVar(&o.concurrency, "concurrency", 1,
		"replay this many policies at once, each on its own control plane (placements do not change; timings then include the others' load)")
	f.BoolVar(&o.resume, "resume", false,
		"reuse the results of policies that completed in an earlier, interrupted run into the same --out (saved in its "+checkpointSubdir+" directory as each policy completes) with the same trace, flags and commit")
	f.BoolVar(&o.quick, "quick", false, fmt.Sprintf("scaled-down run: %d nodes sampled by GPU model, a few minutes", quickNodes))
	f.IntVar(&o.nodes, "nodes", 0, fmt.Sprintf("sample this many nodes, stratified by GPU model (0: every node of the node list; --quick: %d)", quickNodes))
	f.StringVar(&o.onMalformed, "on-malformed", "skip", "malformed trace rows: skip (warn and list them in the report) or reject (fail)")
	f.StringVar(&o.binDir, "bin-dir", "", "directory with the control-plane binaries (default: $HADRON_BIN_DIR, next to hadron, or _output/bin)")
	f.StringVar(&o.out, "out", "", "results directory (default: "+defaultTraceOut+", or a temporary directory with --quick)")
	f.StringVar(&o.workDir, "work-dir", "", "keep the control planes' state and logs here (default: a temporary directory)")
}

// run replays the trace and writes the report; it returns the result,
// for tests.
func (o *benchTraceOptions) run(cmd *cobra.Command) (*replay.Result, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	stderr := cmd.ErrOrStderr()
	mode, malformed, err := o.parseChoices()
	if err != nil {
		return nil, err
	}
	in, err := o.readTrace(stderr, cmd.Flags().Changed("trace-dir"), malformed)
	if err != nil {
		return nil, err
	}

	wopts := trace.Options{Seed: o.seed, Mode: mode, TargetDemand: o.targetDemand}
	switch {
	case o.nodes < 0:
		return nil, fmt.Errorf("--nodes must not be negative, got %d", o.nodes)
	case o.nodes > 0:
		wopts.SampleNodes = o.nodes
	case o.quick:
		wopts.SampleNodes = quickNodes
	}
	workload, err := trace.BuildWorkload(in.nodes, in.pods, wopts)
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	policies, err := replay.Policies(replay.PolicySettings{
		Target: replay.TargetWorkload(workload), PercentageOfNodesToScore: o.nodesToScore,
	}, o.policies...)
	if err != nil {
		return nil, err
	}
	out, err := o.outDir()
	if err != nil {
		return nil, err
	}
	binDir := o.binDir
	if binDir == "" {
		binDir = localcluster.DefaultBinDir()
	}

	fmt.Fprintf(stderr, "replaying %d events on %d nodes (%d GPUs) with %d policies: %s\n",
		len(workload.Events), len(workload.Nodes), workload.ClusterGPUs, len(policies), policyList(policies))
	// The commit the run starts from names the code under test: a long
	// replay may outlast commits made meanwhile.
	commit := gitCommit()
	if gitDirty() {
		if o.resume {
			return nil, errors.New("--resume needs a clean working tree: checkpoints are reused only for the commit that made them")
		}
		commit += " plus uncommitted changes in the working tree"
	}
	bar := progress.New(stderr)
	started := time.Now()
	res, err := replay.Run(ctx, replay.Options{
		BinDir:        binDir,
		WorkDir:       o.workDir,
		Workload:      workload,
		Policies:      policies,
		Concurrency:   o.concurrency,
		CheckpointDir: filepath.Join(out, checkpointSubdir),
		Resume:        o.resume,
		CodeVersion:   commit,
		Progress:      bar.Update,
	})
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	o.describe(res, workload, in.files, started)

	plots, err := tracereport.WritePlots(out, res)
	if err != nil {
		return nil, err
	}
	report := tracereport.Input{Result: res, Malformed: in.malformed, Policies: policies}
	err = writeReport(cmd, filepath.Join(out, tracereport.ReportFile), func(w io.Writer, command, _ string) {
		res.Command, res.Commit = command, commit
		tracereport.Markdown(w, report, plots)
	})
	if err != nil {
		return nil, err
	}
	// The report holds what the checkpoints did; only an interrupted run
	// needs them.
	if err := os.RemoveAll(filepath.Join(out, checkpointSubdir)); err != nil {
		return nil, fmt.Errorf("remove checkpoints: %w", err)
	}
	return res, nil
}

// describe fills in what the replay does not know: how it was run, on
// what and from which files.
func (o *benchTraceOptions) describe(res *replay.Result, w *trace.Workload, files []string, started time.Time) {
	res.Seed = o.seed
	res.Mode = o.mode
	res.Machine = fmt.Sprintf("%d CPUs (%s), %s/%s, %s", runtime.NumCPU(), schedperf.CPUModel(), runtime.GOOS, runtime.GOARCH, started.UTC().Format("2006-01-02"))
	res.TraceFiles = files
	if len(res.Notes) == 0 {
		res.Notes = w.Notes
	}
	if res.Nodes == 0 {
		res.Nodes = len(w.Nodes)
	}
	if res.ClusterGPUs == 0 {
		res.ClusterGPUs = w.ClusterGPUs
	}
	if res.Started.IsZero() {
		res.Started = started
	}
	if res.Finished.IsZero() {
		res.Finished = time.Now()
	}
}

func (o *benchTraceOptions) parseChoices() (trace.Mode, trace.MalformedRows, error) {
	var mode trace.Mode
	switch trace.Mode(o.mode) {
	case trace.DemandMode, trace.DeparturesMode:
		mode = trace.Mode(o.mode)
	default:
		return "", 0, fmt.Errorf("--mode %q: want %s or %s", o.mode, trace.DemandMode, trace.DeparturesMode)
	}
	var malformed trace.MalformedRows
	switch o.onMalformed {
	case "skip":
		malformed = trace.SkipMalformed
	case "reject":
		malformed = trace.RejectMalformed
	default:
		return "", 0, fmt.Errorf("--on-malformed %q: want skip or reject", o.onMalformed)
	}
	if o.targetDemand <= 0 {
		return "", 0, fmt.Errorf("--target-demand %v: want a positive share of the cluster's GPUs (1.3 = 130%%)", o.targetDemand)
	}
	if o.nodesToScore < 0 || o.nodesToScore > 100 {
		return "", 0, fmt.Errorf("--percentage-of-nodes-to-score %d: want 0 (the scheduler's adaptive default) to 100", o.nodesToScore)
	}
	if o.concurrency < 1 {
		return "", 0, fmt.Errorf("--concurrency %d: want at least 1", o.concurrency)
	}
	return mode, malformed, nil
}

// traceInput is what was read from the trace files.
type traceInput struct {
	nodes []trace.Node
	pods  []trace.Pod
	// files name the node and pod list, for the report.
	files []string
	// malformed are the rows left out, as "file:line: why".
	malformed []string
}

// readTrace reads the node and pod list. A quick run without the full
// traces, and without a --trace-dir of its own, replays the excerpt
// embedded in bench/trace.
func (o *benchTraceOptions) readTrace(stderr io.Writer, dirGiven bool, malformed trace.MalformedRows) (*traceInput, error) {
	nodePath, podPath := filepath.Join(o.traceDir, o.nodeList), filepath.Join(o.traceDir, o.podList)
	if o.quick && !dirGiven && (!exists(nodePath) || !exists(podPath)) {
		fmt.Fprintf(stderr, "no traces in %s: replaying the excerpt committed in %s\n", o.traceDir, traceExcerptDir)
		nodes, pods, err := trace.Excerpt()
		if err != nil {
			return nil, err
		}
		return &traceInput{nodes: nodes, pods: pods, files: traceExcerptFiles}, nil
	}
	for _, f := range []string{nodePath, podPath} {
		if !exists(f) {
			return nil, fmt.Errorf("trace file %s not found: put the openb traces (Alibaba clusterdata, cluster-trace-gpu-v2023/csv) in --trace-dir, or run with --quick", f)
		}
	}
	opts := trace.ReadOptions{Malformed: malformed}
	nodes, nodeRows, err := trace.ReadNodesFile(nodePath, opts)
	if err != nil {
		return nil, fmt.Errorf("read node list: %w", err)
	}
	pods, podRows, err := trace.ReadPodsFile(podPath, opts)
	if err != nil {
		return nil, fmt.Errorf("read pod list: %w", err)
	}
	return &traceInput{
		nodes:     nodes,
		pods:      pods,
		files:     []string{displayPath(nodePath), displayPath(podPath)},
		malformed: warnMalformed(stderr, append(nodeRows, podRows...)),
	}, nil
}

func (o *benchTraceOptions) outDir() (string, error) {
	switch {
	case o.out != "":
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return "", fmt.Errorf("create --out: %w", err)
		}
		return o.out, nil
	case o.quick:
		dir, err := os.MkdirTemp("", "hadron-bench-trace-")
		if err != nil {
			return "", fmt.Errorf("create a results directory: %w", err)
		}
		return dir, nil
	}
	if err := os.MkdirAll(defaultTraceOut, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", defaultTraceOut, err)
	}
	return defaultTraceOut, nil
}

// warnMalformed prints one warning per skipped row and returns them for
// the report.
func warnMalformed(w io.Writer, rows []*trace.RowError) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		fmt.Fprintf(w, "warning: skipping malformed row %v\n", r)
		out = append(out, r.Error())
	}
	return out
}

func policyList(policies []replay.Policy) string {
	names := make([]string, len(policies))
	for i, p := range policies {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// displayPath is path relative to the current directory when it lies
// below it or next to it, so that reports name no machine's home.
func displayPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Base(path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Base(path)
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || strings.HasPrefix(rel, "../../") {
		return filepath.Base(path)
	}
	return rel
}
