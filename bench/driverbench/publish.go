package driverbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// drivers are the DRA drivers one hadron-kubelet-plugin runs.
var drivers = []string{attrs.GPUDriver, attrs.CPUDriver, attrs.NICDriver}

// Publish is the ResourceSlice publishing of one target by the plugin
// binary.
type Publish struct {
	Target string
	// Samples run from the plugin's start to every driver's pool being
	// complete in the API server; PerDriver to each driver's own pool
	// (in the order of drivers).
	Samples   []time.Duration
	PerDriver [][]time.Duration
	Pools     []PoolSize
}

// pollInterval is how often the API server is asked; bench/startup polls
// as often, so that the two reports compare.
const pollInterval = 5 * time.Millisecond

// poolComplete reports a driver's pool on a node once it is complete: at
// least one slice, all of one generation, as many as the pool says it has.
func poolComplete(ctx context.Context, client kubernetes.Interface, nodeName, driverName string) (PoolSize, bool, error) {
	list, err := client.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + nodeName + ",spec.driver=" + driverName,
	})
	if err != nil {
		return PoolSize{}, false, fmt.Errorf("list %s slices of %s: %w", driverName, nodeName, err)
	}
	if len(list.Items) == 0 {
		return PoolSize{}, false, nil
	}
	p := PoolSize{Driver: driverName, Slices: len(list.Items)}
	pool := list.Items[0].Spec.Pool
	for _, s := range list.Items {
		if s.Spec.Pool.Generation != pool.Generation || s.Spec.Pool.ResourceSliceCount != int64(len(list.Items)) {
			return PoolSize{}, false, nil
		}
		p.Devices += len(s.Spec.Devices)
	}
	return p, true, nil
}

// publishSample is one plugin start's publishing.
type publishSample struct {
	all       time.Duration
	perDriver []time.Duration
	pools     []PoolSize
}

// measurePublishOnce starts the plugin on a node without ResourceSlices
// and times until each driver's pool is readable. The plugin is left
// running.
func measurePublishOnce(ctx context.Context, client kubernetes.Interface, node *nodesim.Node, start func() (*pluginProcess, error)) (*pluginProcess, publishSample, error) {
	var sample publishSample
	if err := client.ResourceV1().ResourceSlices().DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{FieldSelector: "spec.nodeName=" + node.Name}); err != nil {
		return nil, sample, fmt.Errorf("delete slices of %s: %w", node.Name, err)
	}
	began := time.Now()
	p, err := start()
	if err != nil {
		return nil, sample, err
	}
	sample.perDriver = make([]time.Duration, len(drivers))
	sample.pools = make([]PoolSize, len(drivers))
	err = wait.PollUntilContextTimeout(ctx, pollInterval, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.running(); err != nil {
			return false, err
		}
		done := true
		for i, d := range drivers {
			if sample.perDriver[i] > 0 {
				continue
			}
			pool, complete, err := poolComplete(ctx, client, node.Name, d)
			if err != nil || !complete {
				done = false
				continue
			}
			sample.perDriver[i], sample.pools[i] = time.Since(began), pool
		}
		return done, nil
	})
	if err != nil {
		return nil, sample, errors.Join(fmt.Errorf("%s: pools not published: %w", node.Name, err), p.stop(ctx))
	}
	sample.all = slices.Max(sample.perDriver)
	return p, sample, nil
}

// waitRegistration waits until the node's kubelet code has every driver
// registered (registered true) or none (false).
func waitRegistration(ctx context.Context, node *nodesim.Node, registered bool, p *pluginProcess) error {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		if p != nil {
			if err := p.running(); err != nil {
				return false, err
			}
		}
		for _, d := range drivers {
			if _, err := node.DRAPlugin(d); (err == nil) != registered {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		state := "registered"
		if !registered {
			state = "deregistered"
		}
		return fmt.Errorf("%s: drivers not %s with the kubelet: %w", node.Name, state, err)
	}
	return nil
}
