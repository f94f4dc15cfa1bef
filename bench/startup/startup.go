// Package startup measures how fast the foundation path is on the local
// environment: control-plane start, ResourceSlice publishing of a node's
// driver, and a 1-GPU pod from creation to Running.
package startup

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	v1 "k8s.io/api/core/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/demo"
	"github.com/hadron-sched/hadron/pkg/localenv"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// Options sizes the run.
type Options struct {
	BinDir   string
	Clusters int // control-plane starts measured
	Publish  int // driver restarts measured
	Pods     int // 1-GPU pods measured
	Progress io.Writer
}

// Result holds the samples of each measurement.
type Result struct {
	ControlPlane, NodeStart, PodToRunning []time.Duration
	// Publish is per node: the samples and what was published.
	Publish []Publish
}

// Publish is the ResourceSlice publishing of one node.
type Publish struct {
	Node            string
	Slices, Devices int
	Samples         []time.Duration
}

// nodeSpecs are the measured nodes: a DGX H100 with whole GPUs (which
// also runs the pods) and one in MIG mode. Every node's publishing is
// measured.
const nodeSpecs = "dgxh100=1,dgxh100:mig=1"

// Run measures everything and returns the samples.
func Run(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{}
	nodes, err := localenv.ParseNodes(nodeSpecs)
	if err != nil {
		return nil, err
	}
	for i := 0; i < opts.Clusters; i++ {
		env, err := localenv.Start(ctx, localenv.Options{BinDir: opts.BinDir, Nodes: nodes})
		if err != nil {
			return nil, err
		}
		res.ControlPlane = append(res.ControlPlane, env.ControlPlaneStartup)
		res.NodeStart = append(res.NodeStart, env.NodesStartup)
		fmt.Fprintf(opts.Progress, "cluster %d/%d: control plane %s, node %s\n", i+1, opts.Clusters, env.ControlPlaneStartup.Round(time.Millisecond), env.NodesStartup.Round(time.Millisecond))
		if i == opts.Clusters-1 {
			err = measureOn(ctx, env, nodes, opts, res)
		}
		if stopErr := env.Stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

func measureOn(ctx context.Context, env *localenv.Env, nodes []nodesim.NodeSpec, opts Options, res *Result) error {
	for _, n := range nodes {
		p, err := measurePublish(ctx, env, n.Name, opts)
		if err != nil {
			return err
		}
		res.Publish = append(res.Publish, p)
	}
	const ns = "bench"
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	w := demo.Workload{Name: "gpu-1", GPUs: 1}
	if _, err := env.Client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, w.ClaimTemplate(ns), metav1.CreateOptions{}); err != nil {
		return err
	}
	pods := env.Client.CoreV1().Pods(ns)
	pod := w.Pod(ns)
	pod.Spec.NodeSelector = map[string]string{v1.LabelHostname: nodes[0].Name}
	for i := 0; i < opts.Pods; i++ {
		start := time.Now()
		if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, w.Name, metav1.GetOptions{})
			return err == nil && p.Status.Phase == v1.PodRunning, nil
		})
		if err != nil {
			return fmt.Errorf("pod %d not running: %w", i, err)
		}
		res.PodToRunning = append(res.PodToRunning, time.Since(start))
		if err := pods.Delete(ctx, w.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := pods.Get(ctx, w.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}); err != nil {
			return fmt.Errorf("pod %d not deleted: %w", i, err)
		}
		fmt.Fprintf(opts.Progress, "pod %d/%d: %s\n", i+1, opts.Pods, res.PodToRunning[i].Round(time.Millisecond))
	}
	return nil
}

// measurePublish restarts a node's driver opts.Publish times, each time
// from no ResourceSlices, and times until the whole pool is readable.
func measurePublish(ctx context.Context, env *localenv.Env, name string, opts Options) (Publish, error) {
	p := Publish{Node: name}
	n := env.Sim.Node(name)
	slices := env.Client.ResourceV1().ResourceSlices()
	selector := metav1.ListOptions{FieldSelector: "spec.nodeName=" + name + ",spec.driver=" + attrs.GPUDriver}
	for i := 0; i < opts.Publish; i++ {
		n.StopDriver()
		if err := slices.DeleteCollection(ctx, metav1.DeleteOptions{}, selector); err != nil {
			return p, fmt.Errorf("delete slices: %w", err)
		}
		// Watch for the slices while the driver starts: StartDriver also
		// waits for the kubelet's registration, which is not publishing.
		published := make(chan error, 1)
		start := time.Now()
		var took time.Duration
		go func() {
			published <- wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				list, err := slices.List(ctx, selector)
				took = time.Since(start)
				if err != nil || len(list.Items) == 0 || int64(len(list.Items)) != list.Items[0].Spec.Pool.ResourceSliceCount {
					return false, nil
				}
				p.Slices, p.Devices = len(list.Items), 0
				for _, s := range list.Items {
					p.Devices += len(s.Spec.Devices)
				}
				return true, nil
			})
		}()
		if err := n.StartDriver(ctx); err != nil {
			return p, err
		}
		if err := <-published; err != nil {
			return p, fmt.Errorf("%s: slices not published: %w", name, err)
		}
		p.Samples = append(p.Samples, took)
		fmt.Fprintf(opts.Progress, "publish %s %d/%d: %d slices, %d devices in %s\n", name, i+1, opts.Publish, p.Slices, p.Devices, took.Round(time.Millisecond))
	}
	return p, nil
}

// Report writes the result as markdown.
func (r *Result) Report(w io.Writer, command, commit string) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "# Foundation timings\n\nCommand: `%s`  \nCommit: `%s`  \nMachine: %s, %d CPUs (%s/%s), %s\n\n",
		command, commit, host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(w, "Local environment: real etcd, kube-apiserver, kube-controller-manager and hadron-scheduler; simulated DGX H100 nodes (one with whole GPUs, one in MIG mode) running the real driver and kubelet DRA code.")
	fmt.Fprintln(w, "\n| measurement | samples | p50 | p95 | max |\n|---|---|---|---|---|")
	row := func(name string, s []time.Duration) {
		if len(s) == 0 {
			return
		}
		sorted := append([]time.Duration(nil), s...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		pct := func(p float64) time.Duration { return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))] }
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", name, len(s), pct(0.5).Round(time.Millisecond), pct(0.95).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	}
	row("control plane start (to ready)", r.ControlPlane)
	row("simulated nodes start, "+nodeSpecs+" (Nodes, kubelet code, drivers registered)", r.NodeStart)
	for _, p := range r.Publish {
		row(fmt.Sprintf("ResourceSlice publish, %s (%d slices, %d devices; driver start → pool readable)", p.Node, p.Slices, p.Devices), p.Samples)
	}
	row("1-GPU pod created → Running (schedule, allocate, prepare over gRPC, CDI)", r.PodToRunning)
	fmt.Fprintln(w, "\n"+strings.TrimSpace(`
Timings on a shared 2-core machine are noisy; compare ratios measured in one run.`))
}
