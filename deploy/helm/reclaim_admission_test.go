package helm

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hadron-sched/hadron/driver/reclaim"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

const (
	workspacePodsPolicy     = releaseName + "-workspace-pods-own-node"
	workspaceServicesPolicy = releaseName + "-workspace-services"
	reclaimEventsPolicy     = releaseName + "-workspace-reclaim-events"
	// workspaceNamespace holds the workspaces of the tests.
	workspaceNamespace = "physics"
	// reclaimerOf is the reporting controller of the reclaimer's Events,
	// and with the node's name appended its reporting instance.
	reclaimerOf = "hadron.dev/workspace-reclaim"
)

// workspacePod is a pod bound to node, a workspace's when labelled.
func workspacePod(name, node string, labelled bool, annotations map[string]string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: workspaceNamespace, Annotations: annotations},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "notebook", Image: "registry.invalid/research/workspace"}},
		},
	}
	if labelled {
		pod.Labels = map[string]string{workspace.LabelWorkspace: name}
	}
	return pod
}

// workspaceService is the Service of a workspace, when labelled with its
// name.
func workspaceService(name string, labelled bool) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: workspaceNamespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{workspace.LabelWorkspace: name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 8888}},
		},
	}
	if labelled {
		svc.Labels = map[string]string{workspace.LabelWorkspace: name}
	}
	return svc
}

// reclaimEvent is an Event about pod as the reclaimer on node records it.
func reclaimEvent(name string, pod *corev1.Pod, node string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: reclaimerOf,
		ReportingInstance:   reclaimerOf + "-" + node,
		Action:              "Delete",
		Reason:              reclaim.ReasonReclaimed,
		Regarding:           corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Note:                "Workspace stopped",
		Type:                corev1.EventTypeNormal,
	}
}

// mergePatch encodes a JSON merge patch.
func mergePatch(t *testing.T, patch map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// annotate is a merge patch setting one annotation.
func annotate(t *testing.T, key, value string) []byte {
	return mergePatch(t, map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
}

// waitDenied calls call until policy denies it with message: a policy
// takes effect once the API server has loaded it. Calls should be dry
// runs or otherwise harmless when allowed.
func waitDenied(ctx context.Context, t *testing.T, policy, message string, call func(context.Context) error) {
	t.Helper()
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiTimeout, true, func(ctx context.Context) (bool, error) {
		err := call(ctx)
		if ctx.Err() == nil {
			lastErr = err
		}
		return deniedBy(err, policy, message), nil
	})
	if err != nil {
		t.Fatalf("policy %s is not in effect; last answer: %v", policy, lastErr)
	}
}

// createWorkspaceObjects creates the namespace of the workspaces, once, and
// the given pods and Services, returning the pods as created.
func createWorkspaceObjects(ctx context.Context, t *testing.T, admin kubernetes.Interface, pods []*corev1.Pod, services []*corev1.Service) map[string]*corev1.Pod {
	t.Helper()
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: workspaceNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	created := map[string]*corev1.Pod{}
	for _, pod := range pods {
		p, err := admin.CoreV1().Pods(workspaceNamespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created[p.Name] = p
	}
	for _, svc := range services {
		if _, err := admin.CoreV1().Services(workspaceNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return created
}

// testOwnNodeWorkspaces checks the reclaim admission policies with the
// plugin's token bound to a pod on node A: it annotates and deletes the
// workspace pods of node A and nothing else, marks workspace Services
// only with the reclaim annotation, and records Events only as node A's
// reclaimer.
func testOwnNodeWorkspaces(ctx context.Context, t *testing.T, adminCfg *rest.Config) {
	admin := clientFor(t, adminCfg)
	createNodes(ctx, t, admin)
	pods := createWorkspaceObjects(ctx, t, admin,
		[]*corev1.Pod{
			workspacePod("ws-on-a", nodeA, true, nil),
			workspacePod("ws-on-b", nodeB, true, nil),
			workspacePod("plain-on-a", nodeA, false, nil),
		},
		[]*corev1.Service{workspaceService("ws-on-a", true), workspaceService("plain", false)})
	onA := clientFor(t, pluginConfig(adminCfg, pluginTokenOnNode(ctx, t, admin, nodeA)))
	podsOnA := onA.CoreV1().Pods(workspaceNamespace)
	dryRun := metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	const otherNode = "may only change or delete pods of that node, not pods of node " + nodeB
	waitDenied(ctx, t, workspacePodsPolicy, otherNode, func(ctx context.Context) error {
		return podsOnA.Delete(ctx, "ws-on-b", dryRun)
	})

	activity := annotate(t, workspace.AnnotationLastActivity, time.Now().UTC().Format(time.RFC3339))
	if _, err := podsOnA.Patch(ctx, "ws-on-a", types.MergePatchType, activity, metav1.PatchOptions{}); err != nil {
		t.Errorf("the plugin on %s cannot record activity on a workspace pod of its node: %v", nodeA, err)
	}
	if _, err := podsOnA.Patch(ctx, "ws-on-b", types.MergePatchType, activity, metav1.PatchOptions{}); !deniedBy(err, workspacePodsPolicy, otherNode) {
		t.Errorf("the plugin on %s annotating a workspace pod of %s: got %v, want the policy's denial", nodeA, nodeB, err)
	}
	const onlyActivity = "may only change a workspace pod's " + workspace.AnnotationLastActivity
	for what, patch := range map[string][]byte{
		"another annotation": annotate(t, workspace.AnnotationIdleTimeout, "0"),
		"a label":            mergePatch(t, map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "other"}}}),
		"the image": mergePatch(t, map[string]any{"spec": map[string]any{"containers": []map[string]string{
			{"name": "notebook", "image": "registry.invalid/someone-else"},
		}}}),
	} {
		if _, err := podsOnA.Patch(ctx, "ws-on-a", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); !deniedBy(err, workspacePodsPolicy, onlyActivity) {
			t.Errorf("the plugin on %s changing %s of a workspace pod of its node: got %v, want the policy's denial", nodeA, what, err)
		}
	}
	if err := podsOnA.Delete(ctx, "plain-on-a", metav1.DeleteOptions{}); !deniedBy(err, workspacePodsPolicy, "only change or delete workspace pods") {
		t.Errorf("the plugin on %s deleting a pod of its node that is no workspace: got %v, want the policy's denial", nodeA, err)
	}
	if err := podsOnA.Delete(ctx, "ws-on-b", metav1.DeleteOptions{}); !deniedBy(err, workspacePodsPolicy, otherNode) {
		t.Errorf("the plugin on %s deleting a workspace pod of %s: got %v, want the policy's denial", nodeA, nodeB, err)
	}
	if err := podsOnA.Delete(ctx, "ws-on-a", metav1.DeleteOptions{}); err != nil {
		t.Errorf("the plugin on %s cannot delete a workspace pod of its node: %v", nodeA, err)
	}
	for _, name := range []string{"ws-on-b", "plain-on-a"} {
		if p, err := admin.CoreV1().Pods(workspaceNamespace).Get(ctx, name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
			t.Errorf("pod %s: %v, deleting since %v; want it untouched", name, err, p.GetDeletionTimestamp())
		}
	}
	if p, err := admin.CoreV1().Pods(workspaceNamespace).Get(ctx, "ws-on-a", metav1.GetOptions{}); err == nil && p.DeletionTimestamp == nil {
		t.Errorf("workspace pod ws-on-a of %s is not being deleted", nodeA)
	}

	// A token bound to no pod names no node: no pod at all.
	unbound := clientFor(t, pluginConfig(adminCfg, requestToken(ctx, t, admin, nil))).CoreV1().Pods(workspaceNamespace)
	if err := unbound.Delete(ctx, "ws-on-b", dryRun); !deniedBy(err, workspacePodsPolicy, "name no node") {
		t.Errorf("the plugin with a token bound to no pod deleting a workspace pod: got %v, want the policy's denial", err)
	}

	// Services: only a workspace's own, only the reclaim mark.
	servicesOnA := onA.CoreV1().Services(workspaceNamespace)
	reclaimed := annotate(t, workspace.AnnotationReclaimed, "idle for 2h")
	const notWorkspace = "may only change a workspace's own Service"
	waitDenied(ctx, t, workspaceServicesPolicy, notWorkspace, func(ctx context.Context) error {
		_, err := servicesOnA.Patch(ctx, "plain", types.MergePatchType, reclaimed, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	if _, err := servicesOnA.Patch(ctx, "ws-on-a", types.MergePatchType, reclaimed, metav1.PatchOptions{}); err != nil {
		t.Errorf("the plugin cannot mark a workspace Service as reclaimed: %v", err)
	}
	const onlyReclaimed = "may only change a workspace Service's " + workspace.AnnotationReclaimed
	for what, patch := range map[string][]byte{
		"another annotation": annotate(t, "example.org/owner", "someone"),
		"its selector":       mergePatch(t, map[string]any{"spec": map[string]any{"selector": map[string]string{"app": "other"}}}),
		"its labels":         mergePatch(t, map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "other"}}}),
	} {
		if _, err := servicesOnA.Patch(ctx, "ws-on-a", types.MergePatchType, patch, metav1.PatchOptions{}); !deniedBy(err, workspaceServicesPolicy, onlyReclaimed) {
			t.Errorf("the plugin changing %s of a workspace Service: got %v, want the policy's denial", what, err)
		}
	}

	// Events: as node A's reclaimer, about a pod.
	eventsOnA := onA.EventsV1().Events(workspaceNamespace)
	ownEvent := reclaimEvent("ws-on-a.reclaimed", pods["ws-on-a"], nodeA)
	const otherReclaimer = "may only record Events as that node's workspace reclaimer"
	waitDenied(ctx, t, reclaimEventsPolicy, otherReclaimer, func(ctx context.Context) error {
		_, err := eventsOnA.Create(ctx, reclaimEvent("probe", pods["ws-on-b"], nodeB), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	if _, err := eventsOnA.Create(ctx, ownEvent, metav1.CreateOptions{}); err != nil {
		t.Errorf("the plugin on %s cannot record a reclaim Event: %v", nodeA, err)
	}
	aboutService := reclaimEvent("service.reclaimed", pods["ws-on-a"], nodeA)
	aboutService.Regarding = corev1.ObjectReference{APIVersion: "v1", Kind: "Service", Namespace: workspaceNamespace, Name: "ws-on-a"}
	if _, err := eventsOnA.Create(ctx, aboutService, metav1.CreateOptions{}); !deniedBy(err, reclaimEventsPolicy, "only record Events about a pod") {
		t.Errorf("the plugin recording an Event about a Service: got %v, want the policy's denial", err)
	}

	// Other identities are not matched: the admin deletes any pod.
	if err := admin.CoreV1().Pods(workspaceNamespace).Delete(ctx, "ws-on-b", dryRun); err != nil {
		t.Errorf("the admin cannot delete a workspace pod of %s: %v", nodeB, err)
	}
}

// testReclaimerWithChartRights runs the real idle workspace reclaimer of
// node A with the plugin's token bound to a pod on node A: the chart's
// RBAC and admission policies let it reclaim an idle workspace of its node
// completely (pod deleted, Service marked, Event recorded).
func testReclaimerWithChartRights(ctx context.Context, t *testing.T, adminCfg *rest.Config) {
	admin := clientFor(t, adminCfg)
	createNodes(ctx, t, admin)
	const name = "idle-on-a"
	idleSince := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	pod := createWorkspaceObjects(ctx, t, admin,
		[]*corev1.Pod{workspacePod(name, nodeA, true, map[string]string{
			workspace.AnnotationIdleTimeout:  "1m",
			workspace.AnnotationLastActivity: idleSince,
		})},
		[]*corev1.Service{workspaceService(name, true)})[name]
	// No kubelet runs here: the test says the pod is running.
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &metav1.Time{Time: time.Now().Add(-time.Hour)}}
	pod, err := admin.CoreV1().Pods(workspaceNamespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	onA := clientFor(t, pluginConfig(adminCfg, pluginTokenOnNode(ctx, t, admin, nodeA)))
	r, err := reclaim.New(reclaim.Options{NodeName: nodeA, Client: onA, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- r.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("reclaimer: %v", err)
		}
	}()

	waitUntil(ctx, t, "the idle workspace pod is deleted", func(ctx context.Context) (bool, error) {
		p, err := admin.CoreV1().Pods(workspaceNamespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && p.DeletionTimestamp != nil, nil
	})
	waitUntil(ctx, t, "the workspace Service is marked as reclaimed", func(ctx context.Context) (bool, error) {
		svc, err := admin.CoreV1().Services(workspaceNamespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil && svc.Annotations[workspace.AnnotationReclaimed] != "", nil
	})
	waitUntil(ctx, t, "the reclaim Event is recorded", func(ctx context.Context) (bool, error) {
		events, err := admin.EventsV1().Events(workspaceNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Reason == reclaim.ReasonReclaimed && e.Regarding.UID == pod.UID && e.ReportingInstance == reclaimerOf+"-"+nodeA {
				return true, nil
			}
		}
		return false, nil
	})
}

// waitUntil polls cond until it holds; apiTimeout only bounds a broken
// run.
func waitUntil(ctx context.Context, t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiTimeout, true, cond); err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}
