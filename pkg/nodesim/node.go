package nodesim

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/simhw"
)

// Labels every simulated node carries.
const (
	LabelMachine   = "hadron.dev/machine"
	LabelSimulated = "hadron.dev/simulated"
)

// KubeletVersion is what simulated nodes report: the version of the
// kubelet code they run.
const KubeletVersion = "v1.37.2"

// leaseDuration matches the kubelet's default node lease.
const leaseDuration = 40 * time.Second

// nodeObject is the Node a kubelet would register for machine m.
func nodeObject(name string, m *simhw.Machine, labels map[string]string, maxPods int) *v1.Node {
	cpus := m.CPU.Sockets * m.CPU.CoresPerSocket * m.CPU.ThreadsPerCore
	capacity := v1.ResourceList{
		v1.ResourceCPU:              *resource.NewQuantity(int64(cpus), resource.DecimalSI),
		v1.ResourceMemory:           *resource.NewQuantity(int64(m.CPU.MemoryGiB)<<30, resource.BinarySI),
		v1.ResourcePods:             *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		v1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
	}
	l := map[string]string{
		v1.LabelHostname:           name,
		v1.LabelOSStable:           "linux",
		v1.LabelArchStable:         "amd64",
		v1.LabelInstanceTypeStable: m.Name,
		LabelMachine:               m.Name,
		LabelSimulated:             "true",
	}
	for k, v := range labels {
		l[k] = v
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Status: v1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Addresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: v1.NodeHostName, Address: name},
			},
			NodeInfo: v1.NodeSystemInfo{
				KubeletVersion:          KubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            "amd64",
				ContainerRuntimeVersion: "hadron-sim://1.0",
				OSImage:                 "hadron simulated node (" + m.Name + ")",
			},
		},
	}
}

func readyConditions(now metav1.Time) []v1.NodeCondition {
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []v1.NodeCondition{
		cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady"),
		cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory"),
		cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure"),
		cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID"),
	}
}

// register creates (or adopts) the Node and reports it Ready.
func register(ctx context.Context, client kubernetes.Interface, want *v1.Node) (*v1.Node, error) {
	node, err := client.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		node, err = client.CoreV1().Nodes().Get(ctx, want.Name, metav1.GetOptions{})
		if err == nil {
			node.Labels = want.Labels
			node, err = client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", want.Name, err)
	}
	return updateStatus(ctx, client, node, want.Status)
}

// updateStatus reports the node's status, re-reading the Node when the
// controllers changed it meanwhile (they add taints and annotations).
func updateStatus(ctx context.Context, client kubernetes.Interface, node *v1.Node, status v1.NodeStatus) (*v1.Node, error) {
	var updated *v1.Node
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		current := node.DeepCopy()
		if updated != nil || current.ResourceVersion == "" {
			var err error
			if current, err = client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		current.Status = status
		current.Status.Conditions = readyConditions(metav1.Now())
		var err error
		updated, err = client.CoreV1().Nodes().UpdateStatus(ctx, current, metav1.UpdateOptions{})
		if err != nil {
			updated = current // marks that the next try must re-read
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report status of node %s: %w", node.Name, err)
	}
	return updated, nil
}

// heartbeat renews the node's Lease like the kubelet, and refreshes the
// Ready condition now and then so that the node lifecycle controller
// keeps the node schedulable.
func heartbeat(ctx context.Context, client kubernetes.Interface, node *v1.Node, status v1.NodeStatus) {
	logger := klog.FromContext(ctx)
	leases := client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	renew := func(ctx context.Context) {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, node.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: node.Name, Namespace: v1.NamespaceNodeLease, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
				}}},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node.Name), LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)), RenewTime: &now},
			}
			_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		} else if err == nil {
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil {
			logger.Error(err, "Renewing node lease failed", "node", node.Name)
		}
	}
	statusTicker := time.NewTicker(time.Minute)
	defer statusTicker.Stop()
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		renew(ctx)
		select {
		case <-statusTicker.C:
			current, err := client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
			if err == nil {
				_, err = updateStatus(ctx, client, current, status)
			}
			if err != nil && ctx.Err() == nil {
				logger.Error(err, "Refreshing node status failed", "node", node.Name)
			}
		default:
		}
	}, leaseDuration/4)
}
