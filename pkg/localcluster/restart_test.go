package localcluster_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/hadron-sched/hadron/pkg/localcluster"
	"github.com/hadron-sched/hadron/pkg/localcluster/clustertest"
)

// TestRestartScheduler restarts the scheduler: one process is replaced,
// its old log is kept, and the new scheduler handles pods.
func TestRestartScheduler(t *testing.T) {
	c := clustertest.Get(t)
	before := localcluster.PIDs(c)
	if err := c.RestartScheduler(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := localcluster.PIDs(c)
	kept := 0
	for _, pid := range after {
		if slices.Contains(before, pid) {
			kept++
		}
	}
	if len(after) != 4 || kept != 3 {
		t.Errorf("processes before %v, after %v: want one replaced", before, after)
	}
	if _, err := os.Stat(filepath.Join(c.WorkDir(), "logs", localcluster.ComponentScheduler+".log.previous")); err != nil {
		t.Errorf("previous scheduler log: %v", err)
	}

	client := client(t)
	ns := createNamespace(t, client)
	waitForServiceAccount(t, client, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "after-restart"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
	}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("restarted scheduler did not handle a pod: %v", err)
	}
}
