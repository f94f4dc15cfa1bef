package nodesim

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Event reasons, as the kubelet uses them.
const (
	ReasonFailedPrepare = "FailedPrepareDynamicResources"
	ReasonStarted       = "Started"
)

// sync moves one pod along its kubelet life cycle.
func (s *Simulator) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := s.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return s.forget(ctx, key)
	}
	if err != nil {
		return err
	}
	n := s.Node(pod.Spec.NodeName)
	if n == nil {
		return nil
	}
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "pod", klog.KObj(pod), "node", n.Name)
	ctx = klog.NewContext(ctx, logger)
	switch {
	case pod.DeletionTimestamp != nil:
		// The containers are "stopped": release the claims, then let the
		// API server drop the pod, as the kubelet does.
		if err := n.kubelet.dra.UnprepareResources(ctx, pod); err != nil {
			return fmt.Errorf("unprepare: %w", err)
		}
		err := s.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("finalize deletion: %w", err)
		}
		return nil
	case pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed:
		return n.kubelet.dra.UnprepareResources(ctx, pod)
	case pod.Status.Phase == v1.PodRunning:
		return nil
	}
	if err := n.kubelet.prepare(ctx, pod, n.resolver); err != nil {
		n.recorder.Eventf(pod, v1.EventTypeWarning, ReasonFailedPrepare, "Failed to prepare dynamic resources: %v", err)
		return err
	}
	pod = pod.DeepCopy()
	pod.Status = podRunningStatus(pod, n.nextPodIP())
	if _, err := s.client.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("report pod running: %w", err)
	}
	n.recorder.Event(pod, v1.EventTypeNormal, ReasonStarted, "Started simulated containers")
	logger.V(2).Info("Pod running")
	return nil
}

// forget releases the claims of a pod that vanished without the kubelet
// seeing its deletion (for example a forced delete).
func (s *Simulator) forget(ctx context.Context, key string) error {
	s.mu.Lock()
	pod := s.lastSeen[key]
	s.mu.Unlock()
	if pod == nil {
		return nil
	}
	if n := s.Node(pod.Spec.NodeName); n != nil {
		if err := n.kubelet.dra.UnprepareResources(ctx, pod); err != nil {
			return fmt.Errorf("unprepare deleted pod: %w", err)
		}
	}
	s.mu.Lock()
	if s.lastSeen[key] == pod {
		delete(s.lastSeen, key)
	}
	s.mu.Unlock()
	return nil
}
