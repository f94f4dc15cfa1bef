package workspace

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// Client acts on the workspaces of one namespace with the rights of a
// tenant user: everything it does is namespaced (docs/workspaces.md lists
// the Role).
type Client struct {
	Kube      kubernetes.Interface
	Namespace string
}

// ErrExists is wrapped when a workspace of that name already exists.
var ErrExists = errors.New("workspace already exists")

// Create renders the profile and creates the claim template, the Service
// and the pod, in that order, so that the pod never waits for a missing
// template. If a step fails, what was created is removed again: a
// workspace is created whole or not at all.
func (c *Client) Create(ctx context.Context, p Profile, name string) (Objects, error) {
	logger := klog.FromContext(ctx)
	objs, err := Render(p, name, c.Namespace)
	if err != nil {
		return Objects{}, err
	}
	var undo []func(context.Context)
	fail := func(what string, err error) (Objects, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i](context.WithoutCancel(ctx))
		}
		if apierrors.IsAlreadyExists(err) {
			return Objects{}, fmt.Errorf("%w: %s %s/%s exists (hadron workspace delete %s)", ErrExists, what, c.Namespace, name, name)
		}
		return Objects{}, fmt.Errorf("create %s %s/%s: %w", what, c.Namespace, name, err)
	}
	if objs.ClaimTemplate != nil {
		created, err := c.Kube.ResourceV1().ResourceClaimTemplates(c.Namespace).Create(ctx, objs.ClaimTemplate, metav1.CreateOptions{})
		if err != nil {
			return fail("ResourceClaimTemplate", err)
		}
		objs.ClaimTemplate = created
		undo = append(undo, func(ctx context.Context) {
			err := c.Kube.ResourceV1().ResourceClaimTemplates(c.Namespace).Delete(ctx, name, uidPrecondition(created.UID))
			logUndo(logger, "ResourceClaimTemplate", name, err)
		})
	}
	svc, err := c.Kube.CoreV1().Services(c.Namespace).Create(ctx, objs.Service, metav1.CreateOptions{})
	if err != nil {
		return fail("Service", err)
	}
	objs.Service = svc
	undo = append(undo, func(ctx context.Context) {
		err := c.Kube.CoreV1().Services(c.Namespace).Delete(ctx, name, uidPrecondition(svc.UID))
		logUndo(logger, "Service", name, err)
	})
	pod, err := c.Kube.CoreV1().Pods(c.Namespace).Create(ctx, objs.Pod, metav1.CreateOptions{})
	if err != nil {
		return fail("Pod", err)
	}
	objs.Pod = pod
	logger.V(2).Info("Created workspace", "namespace", c.Namespace, "workspace", name, "profile", p.Name)
	return objs, nil
}

func uidPrecondition(uid types.UID) metav1.DeleteOptions {
	return metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(uid))}
}

func logUndo(logger klog.Logger, kind, name string, err error) {
	if err != nil && !apierrors.IsNotFound(err) {
		logger.Error(err, "Removing part of a workspace that could not be created", "kind", kind, "name", name)
	}
}
