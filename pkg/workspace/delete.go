package workspace

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Delete removes the workspace's pod, Service and claim template; the
// claim generated from the template goes with the pod. Only objects that
// carry the workspace's label are deleted (never an unrelated pod of the
// same name), each guarded by its UID. It returns what it deleted.
func (c *Client) Delete(ctx context.Context, name string) ([]string, error) {
	type part struct {
		kind string
		get  func() (metav1.Object, error)
		del  func(metav1.DeleteOptions) error
	}
	opts := metav1.GetOptions{}
	parts := []part{
		{"Pod",
			func() (metav1.Object, error) { return c.Kube.CoreV1().Pods(c.Namespace).Get(ctx, name, opts) },
			func(o metav1.DeleteOptions) error { return c.Kube.CoreV1().Pods(c.Namespace).Delete(ctx, name, o) }},
		{"Service",
			func() (metav1.Object, error) { return c.Kube.CoreV1().Services(c.Namespace).Get(ctx, name, opts) },
			func(o metav1.DeleteOptions) error { return c.Kube.CoreV1().Services(c.Namespace).Delete(ctx, name, o) }},
		{"ResourceClaimTemplate",
			func() (metav1.Object, error) {
				return c.Kube.ResourceV1().ResourceClaimTemplates(c.Namespace).Get(ctx, name, opts)
			},
			func(o metav1.DeleteOptions) error {
				return c.Kube.ResourceV1().ResourceClaimTemplates(c.Namespace).Delete(ctx, name, o)
			}},
	}
	var deleted []string
	for _, p := range parts {
		obj, err := p.get()
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("get %s %s/%s: %w", p.kind, c.Namespace, name, err)
		}
		if obj.GetLabels()[LabelWorkspace] != name {
			continue // same name, but not part of this workspace
		}
		err = p.del(uidPrecondition(obj.GetUID()))
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, fmt.Errorf("delete %s %s/%s: %w", p.kind, c.Namespace, name, err)
		}
		deleted = append(deleted, p.kind)
	}
	if len(deleted) == 0 {
		return nil, fmt.Errorf("no workspace %q in namespace %s (hadron workspace list shows them)", name, c.Namespace)
	}
	return deleted, nil
}
