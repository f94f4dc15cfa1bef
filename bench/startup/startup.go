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
	ControlPlane, NodeStart, SlicePublish, PodToRunning []time.Duration
}

const node = "dgxh100-1"

// Run measures everything and returns the samples.
func Run(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{}
	nodes, err := localenv.ParseNodes("dgxh100=1")
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
			err = measureOn(ctx, env, opts, res)
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

func measureOn(ctx context.Context, env *localenv.Env, opts Options, res *Result) error {
	n := env.Sim.Node(node)
	slices := env.Client.ResourceV1().ResourceSlices()
	selector := metav1.ListOptions{FieldSelector: "spec.nodeName=" + node + ",spec.driver=" + attrs.GPUDriver}
	for i := 0; i < opts.Publish; i++ {
		n.StopDriver()
		if err := slices.DeleteCollection(ctx, metav1.DeleteOptions{}, selector); err != nil {
			return fmt.Errorf("delete slices: %w", err)
		}
		// Watch for the slice while the driver starts: StartDriver also
		// waits for the kubelet's registration, which is not publishing.
		published := make(chan error, 1)
		start := time.Now()
		var took time.Duration
		go func() {
			published <- wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				list, err := slices.List(ctx, selector)
				took = time.Since(start)
				return err == nil && len(list.Items) > 0 && len(list.Items[0].Spec.Devices) == 8, nil
			})
		}()
		if err := n.StartDriver(ctx); err != nil {
			return err
		}
		if err := <-published; err != nil {
			return fmt.Errorf("slice not published: %w", err)
		}
		res.SlicePublish = append(res.SlicePublish, took)
		fmt.Fprintf(opts.Progress, "publish %d/%d: %s\n", i+1, opts.Publish, res.SlicePublish[i].Round(time.Millisecond))
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
	for i := 0; i < opts.Pods; i++ {
		start := time.Now()
		if _, err := pods.Create(ctx, w.Pod(ns), metav1.CreateOptions{}); err != nil {
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

// Report writes the result as markdown.
func (r *Result) Report(w io.Writer, command, commit string) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "# Foundation timings\n\nCommand: `%s`  \nCommit: `%s`  \nMachine: %s, %d CPUs (%s/%s), %s\n\n",
		command, commit, host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(w, "Local environment: real etcd, kube-apiserver, kube-controller-manager and hadron-scheduler; one simulated DGX H100 node (real driver and kubelet DRA code).")
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
	row("simulated DGX H100 node start (Node, kubelet code, driver registered)", r.NodeStart)
	row("DGX H100 ResourceSlice publish (driver start → 8-device slice readable)", r.SlicePublish)
	row("1-GPU pod created → Running (schedule, allocate, prepare over gRPC, CDI)", r.PodToRunning)
	fmt.Fprintln(w, "\n"+strings.TrimSpace(`
Timings on a shared 2-core machine are noisy; compare ratios measured in one run.`))
}
