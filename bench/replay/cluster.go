package replay

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/localcluster"
)

var tenantGVR = schema.GroupVersionResource{Group: "capsule.clastix.io", Version: "v1beta2", Resource: "tenants"}

// crdTimeout bounds the wait for the Tenant CRD to be served.
const crdTimeout = time.Minute

// controlPlane is one policy's running control plane.
type controlPlane struct {
	cluster *localcluster.Cluster
	client  kubernetes.Interface
}

// startControlPlane starts a fresh control plane whose scheduler runs
// the policy.
func startControlPlane(ctx context.Context, opts Options, p Policy, workDir string) (*controlPlane, error) {
	logger := klog.FromContext(ctx)
	c, err := localcluster.Start(ctx, localcluster.Options{
		BinDir:          opts.BinDir,
		WorkDir:         filepath.Join(workDir, "control-plane"),
		SchedulerConfig: p.SchedulerConfig,
		Progress:        func(step string) { logger.V(2).Info("Control plane", "policy", p.Name, "step", step) },
		ExtraArgs: map[string][]string{
			// Nodes have no kubelet. Without the node lifecycle
			// controller nothing marks them NotReady or taints them
			// when they post no status, which is cheaper than renewing a
			// Lease per node for the whole replay: no API traffic
			// competes with the scheduler's. The later --controllers
			// flag overrides localcluster's.
			localcluster.ComponentControllerManager: {"--controllers=*,-node-lifecycle-controller"},
		},
	})
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("client: %w", err)
	}
	return &controlPlane{cluster: c, client: client}, nil
}

// install creates what the replay needs before the first event: device
// classes, the Tenant CRD, tenants and their namespaces, the nodes and
// their slices, last the slice the warm-up pod allocates from.
func (cp *controlPlane) install(ctx context.Context, w *trace.Workload, nodeSlices [][]resourceapi.ResourceSlice, last *resourceapi.ResourceSlice) error {
	applier, err := kube.NewApplier(cp.cluster.Config)
	if err != nil {
		return err
	}
	if err := applier.ApplyFS(ctx, deploy.DeviceClasses, "deviceclasses/*.yaml", ""); err != nil {
		return fmt.Errorf("install DeviceClasses: %w", err)
	}
	if err := applier.ApplyFS(ctx, deploy.CRDs, "crds/*.yaml", ""); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cp.cluster.Config)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	for _, t := range w.Tenants {
		if err := createTenant(ctx, dyn, t); err != nil {
			return err
		}
		if _, err := cp.client.CoreV1().Namespaces().Create(ctx, namespaceObject(t), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s of tenant %s: %w", t.Namespace, t.Name, err)
		}
	}
	for i, n := range w.Nodes {
		if err := cp.createNode(ctx, n); err != nil {
			return err
		}
		for j := range nodeSlices[i] {
			if s := &nodeSlices[i][j]; s != last {
				if err := cp.createSlice(ctx, s); err != nil {
					return err
				}
			}
		}
	}
	if last != nil {
		if err := cp.createSlice(ctx, last); err != nil {
			return err
		}
	}
	return cp.checkNodes(ctx)
}

func (cp *controlPlane) createSlice(ctx context.Context, s *resourceapi.ResourceSlice) error {
	if _, err := cp.client.ResourceV1().ResourceSlices().Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ResourceSlice %s: %w", s.Name, err)
	}
	return nil
}

// createTenant creates a Tenant, waiting for its CRD to be served.
func createTenant(ctx context.Context, dyn dynamic.Interface, t trace.Tenant) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, crdTimeout, true, func(ctx context.Context) (bool, error) {
		_, lastErr = dyn.Resource(tenantGVR).Create(ctx, tenantObject(t), metav1.CreateOptions{})
		switch {
		case lastErr == nil:
			return true, nil
		case apierrors.IsNotFound(lastErr) || meta.IsNoMatchError(lastErr):
			return false, nil
		}
		return false, lastErr
	})
	if err != nil {
		return fmt.Errorf("create Tenant %s: %w", t.Name, errors.Join(err, lastErr))
	}
	return nil
}

// createNode creates a Ready node without taints. The API server's
// TaintNodesByCondition admission adds the not-ready taint to every new
// node, which the node lifecycle controller would lift once the kubelet
// reports Ready; with neither running, the replay lifts it. Controllers
// update new nodes too, hence the retries on conflicts.
func (cp *controlPlane) createNode(ctx context.Context, n trace.ClusterNode) error {
	obj := nodeObject(n)
	status := obj.Status
	nodes := cp.client.CoreV1().Nodes()
	if _, err := nodes.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", n.Trace.Name, err)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := nodes.Get(ctx, n.Trace.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Status = status
		_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("set status of node %s: %w", n.Trace.Name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := nodes.Get(ctx, n.Trace.Name, metav1.GetOptions{})
		if err != nil || len(node.Spec.Taints) == 0 {
			return err
		}
		node.Spec.Taints = nil
		_, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("untaint node %s: %w", n.Trace.Name, err)
	}
	return nil
}

// checkNodes verifies that every node is still Ready and untainted: a
// node that is not would turn pods away for reasons the trace does not
// have.
func (cp *controlPlane) checkNodes(ctx context.Context) error {
	list, err := cp.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range list.Items {
		if len(n.Spec.Taints) > 0 {
			return fmt.Errorf("node %s is tainted: %v", n.Name, n.Spec.Taints)
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == v1.NodeReady && c.Status == v1.ConditionTrue)
		}
		if !ready {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	return nil
}

// stop shuts the control plane down.
func (cp *controlPlane) stop() error {
	return cp.cluster.Stop()
}
