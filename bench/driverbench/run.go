package driverbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hadron-sched/hadron/pkg/localcluster"
	"github.com/hadron-sched/hadron/pkg/localenv"
)

// Result holds every measurement of a run.
type Result struct {
	Options   Options
	Date      time.Time
	Host      string
	InProcess []*InProcess
	Publish   []*Publish
	Prepare   []*Prepare
	Memory    []*PluginMemory
	// Skipped names the claim kinds whose target was not measured.
	Skipped []string
	// Uncommitted is set by the caller when the binaries were built from
	// a working tree that differs from the reported commit.
	Uncommitted bool
}

// PluginMemory is the plugin binary's memory on one target.
type PluginMemory struct {
	Target string
	// AfterPublish is read once the pools are published and the drivers
	// registered; AfterLoad after every claim kind of the target ran
	// (nil when the target runs none).
	AfterPublish Memory
	AfterLoad    *Memory
	// Claims is how many claims were prepared before AfterLoad.
	Claims int
}

// benchNamespace holds the measured claims.
const benchNamespace = "driverbench"

// Run measures every target: discovery and slice build in process, then
// publishing, prepare/unprepare and memory of the plugin binary against
// a local control plane.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	targets, err := ParseTargets(opts.Targets)
	if err != nil {
		return nil, err
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir = localcluster.DefaultBinDir()
	}
	binary := filepath.Join(binDir, PluginBinary)
	built, err := os.Stat(binary)
	if err != nil {
		return nil, fmt.Errorf("the plugin binary (build it with `make binaries`): %w", err)
	}
	workDir, err := os.MkdirTemp("", "hadron-driverbench-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(workDir) }()

	res := &Result{Options: opts, Date: time.Now().UTC(), Host: hostDescription()}
	for _, t := range targets {
		in, err := measureInProcess(ctx, t, filepath.Join(workDir, "in-process"), opts.Iterations)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(opts.Progress, "in process %s: discovery %s, slice build %s (p50 of %d)\n",
			t.Spec, Summarize(in.Discovery).P50, Summarize(in.Build).P50, opts.Iterations)
		res.InProcess = append(res.InProcess, in)
	}

	// The environment's own temporary directory keeps the node's socket
	// paths short enough for unix sockets.
	env, err := localenv.Start(ctx, localenv.Options{
		BinDir:   opts.BinDir,
		Progress: func(step string) { fmt.Fprintln(opts.Progress, step) },
	})
	if err != nil {
		return nil, fmt.Errorf("start local environment: %w", err)
	}
	plugin := pluginBinary{path: binary, built: built}
	err = measureBinary(ctx, env, plugin, filepath.Join(workDir, "logs"), targets, res)
	if stopErr := env.Stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stop local environment: %w", stopErr)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// measureBinary runs the plugin binary for every target on its own
// simulated node, whose kubelet code (the kubelet's plugin manager and
// DRA manager) registers it and is the gRPC client of every prepare.
func measureBinary(ctx context.Context, env *localenv.Env, binary pluginBinary, logDir string, targets []Target, res *Result) error {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	kinds := claimKinds()
	measured := map[string]bool{}
	for _, t := range targets {
		measured[t.Spec] = true
	}
	for _, k := range kinds {
		if !measured[k.Target] {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s (needs target %s)", k.Name, k.Target))
		}
	}
	for _, t := range targets {
		var targetKinds []claimKind
		for _, k := range kinds {
			if k.Target == t.Spec {
				targetKinds = append(targetKinds, k)
			}
		}
		if err := measureTarget(ctx, env, binary, logDir, t, targetKinds, res); err != nil {
			return fmt.Errorf("target %s: %w", t.Spec, err)
		}
	}
	return nil
}

func measureTarget(ctx context.Context, env *localenv.Env, binary pluginBinary, logDir string, t Target, kinds []claimKind, res *Result) (err error) {
	opts := res.Options
	if err := env.Sim.AddNode(ctx, t.Node); err != nil {
		return err
	}
	node := env.Sim.Node(t.Node.Name)
	// The node starts with the in-process driver; the binary takes its
	// place, as a DaemonSet pod would.
	node.StopDriver()
	if err := waitRegistration(ctx, node, false, nil); err != nil {
		return err
	}
	args := pluginArgs(t, node, env.Cluster.KubeconfigPath)
	starts := 0
	start := func() (*pluginProcess, error) {
		starts++
		if err := binary.unchanged(); err != nil {
			return nil, err
		}
		return startPlugin(binary.path, args, filepath.Join(logDir, fmt.Sprintf("%s-%d.log", node.Name, starts)))
	}
	pub := &Publish{Target: t.Spec}
	var p *pluginProcess
	defer func() {
		if p != nil {
			if stopErr := p.stop(ctx); err == nil {
				err = stopErr
			}
		}
	}()
	pub.PerDriver = make([][]time.Duration, len(drivers))
	for i := 1; i <= opts.Publish; i++ {
		var sample publishSample
		if p, sample, err = measurePublishOnce(ctx, env.Client, node, start); err != nil {
			return err
		}
		pub.Samples, pub.Pools = append(pub.Samples, sample.all), sample.pools
		for d, took := range sample.perDriver {
			pub.PerDriver[d] = append(pub.PerDriver[d], took)
		}
		fmt.Fprintf(opts.Progress, "publish %s %d/%d: all pools in %s\n", t.Spec, i, opts.Publish, sample.all.Round(time.Millisecond))
		if err := waitRegistration(ctx, node, true, p); err != nil {
			return err
		}
		if i == opts.Publish {
			break
		}
		stopped := p
		p = nil
		if err := stopped.stop(ctx); err != nil {
			return err
		}
		if err := waitRegistration(ctx, node, false, nil); err != nil {
			return err
		}
	}
	res.Publish = append(res.Publish, pub)
	mem := &PluginMemory{Target: t.Spec}
	if mem.AfterPublish, err = readMemory(p.pid()); err != nil {
		return err
	}
	load := claimLoad{client: env.Client, node: node, namespace: benchNamespace, progress: opts.Progress}
	for _, k := range kinds {
		r, err := load.run(ctx, k, opts.Claims)
		if err != nil {
			return errors.Join(err, p.running())
		}
		res.Prepare = append(res.Prepare, r)
		mem.Claims += opts.Claims
	}
	if len(kinds) > 0 {
		after, err := readMemory(p.pid())
		if err != nil {
			return err
		}
		mem.AfterLoad = &after
	}
	res.Memory = append(res.Memory, mem)
	return nil
}

// pluginBinary is the measured binary as it was when the run began.
type pluginBinary struct {
	path  string
	built os.FileInfo
}

// unchanged refuses a binary rebuilt during the run: the report would
// mix two builds.
func (b pluginBinary) unchanged() error {
	now, err := os.Stat(b.path)
	if err != nil {
		return fmt.Errorf("plugin binary: %w", err)
	}
	if !now.ModTime().Equal(b.built.ModTime()) || now.Size() != b.built.Size() {
		return fmt.Errorf("%s was rebuilt during the run (%s, was %s): run the benchmark again", b.path,
			now.ModTime().Format(time.RFC3339), b.built.ModTime().Format(time.RFC3339))
	}
	return nil
}
