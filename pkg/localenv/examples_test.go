package localenv_test

import (
	"context"
	"io/fs"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// TestExamplesAreAccepted applies every example in deploy/examples to the
// API server, so that the shipped claims stay valid against the DRA API
// and hadron's DeviceClasses.
func TestExamplesAreAccepted(t *testing.T) {
	ns := namespace(t)
	applier, err := kube.NewApplier(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFS(context.Background(), deploy.Examples, "examples/*.yaml", ns); err != nil {
		t.Fatal(err)
	}
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	examples, err := fs.Glob(deploy.Examples, "examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != len(examples) {
		t.Fatalf("%d example pods accepted, want one per example (%d)", len(pods.Items), len(examples))
	}
	for _, p := range pods.Items {
		deletePodAndWait(t, ns, p.Name)
	}
}
