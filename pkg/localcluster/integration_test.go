package localcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/localcluster"
	"github.com/hadron-sched/hadron/pkg/localcluster/clustertest"
)

func TestMain(m *testing.M) {
	clustertest.Main(m, func(c *localcluster.Cluster) int {
		code := m.Run()
		if code != 0 {
			return code
		}
		// Stop is verified here, after all tests used the cluster.
		if err := verifyStop(c); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: Stop: %v\n", err)
			return 1
		}
		return 0
	})
}

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	c, err := clustertest.Get(t).Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createNamespace(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "localcluster-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

func TestStartupTime(t *testing.T) {
	c := clustertest.Get(t)
	if c.StartupTime <= 0 {
		t.Errorf("StartupTime = %v", c.StartupTime)
	}
	t.Logf("startup time: %v", c.StartupTime)
}

func TestResourceAPIDiscovery(t *testing.T) {
	client := client(t)
	groups, err := client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range groups.Groups {
		if g.Name != "resource.k8s.io" {
			continue
		}
		for _, v := range g.Versions {
			if v.Version == "v1" {
				found = true
			}
		}
		if g.PreferredVersion.Version != "v1" {
			t.Errorf("preferred version of resource.k8s.io is %s, want v1", g.PreferredVersion.Version)
		}
	}
	if !found {
		t.Fatalf("resource.k8s.io/v1 not in discovery: %+v", groups.Groups)
	}
	resources, err := client.Discovery().ServerResourcesForGroupVersion("resource.k8s.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range resources.APIResources {
		names = append(names, r.Name)
	}
	for _, want := range []string{"deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices", "devicetaintrules"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("resource.k8s.io/v1 does not serve %s (has %v)", want, names)
		}
	}
	// DRAResourcePoolStatus + RuntimeConfig.
	if _, err := client.Discovery().ServerResourcesForGroupVersion("resource.k8s.io/v1alpha3"); err != nil {
		t.Errorf("resource.k8s.io/v1alpha3: %v", err)
	}
}

func TestKubeconfigFile(t *testing.T) {
	c := clustertest.Get(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Get(t.Context(), metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		t.Fatalf("get default namespace through %s: %v", c.KubeconfigPath, err)
	}
	if c.Config.QPS < 100 || c.Config.Burst < 200 {
		t.Errorf("QPS/Burst not raised: %v/%v", c.Config.QPS, c.Config.Burst)
	}
	if _, err := os.Stat(filepath.Join(c.WorkDir(), "logs", localcluster.ComponentAPIServer+".log")); err != nil {
		t.Errorf("API server log: %v", err)
	}
}

func TestUserConfig(t *testing.T) {
	c := clustertest.Get(t)
	cfg, err := c.UserConfig("system:node:fake-node", "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := review.Status.UserInfo.Username; got != "system:node:fake-node" {
		t.Errorf("user = %q", got)
	}
	// The Node authorizer limits nodes: listing secrets is forbidden.
	if _, err := client.CoreV1().Secrets(metav1.NamespaceDefault).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("node listing secrets: got %v, want Forbidden", err)
	}
}

func TestDeviceClassAndServiceAccount(t *testing.T) {
	client := client(t)
	ctx := t.Context()
	ns := createNamespace(t, client)

	class := &resourcev1.DeviceClass{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "gpu-"},
		Spec: resourcev1.DeviceClassSpec{
			Selectors: []resourcev1.DeviceSelector{{
				CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver == "gpu.hadron.dev"`},
			}},
		},
	}
	created, err := client.ResourceV1().DeviceClasses().Create(ctx, class, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create DeviceClass: %v", err)
	}
	t.Cleanup(func() {
		_ = client.ResourceV1().DeviceClasses().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	got, err := client.ResourceV1().DeviceClasses().Get(ctx, created.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get DeviceClass: %v", err)
	}
	if len(got.Spec.Selectors) != 1 || got.Spec.Selectors[0].CEL == nil {
		t.Errorf("DeviceClass selectors not stored: %+v", got.Spec)
	}

	// The serviceaccount controller must create the default ServiceAccount.
	waitForServiceAccount(t, client, ns)
}

func waitForServiceAccount(t *testing.T, client kubernetes.Interface, ns string) {
	t.Helper()
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, lastErr = client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return lastErr == nil, nil
	})
	if err != nil {
		t.Fatalf("default ServiceAccount in %s not created: %v (last error: %v)", ns, err, lastErr)
	}
}

// TestPartitionableDevicesEnabled checks that the feature gates reach the
// API server: with DRAPartitionableDevices disabled, sharedCounters would
// be dropped.
func TestPartitionableDevicesEnabled(t *testing.T) {
	client := client(t)
	slice := &resourcev1.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "counters-"},
		Spec: resourcev1.ResourceSliceSpec{
			Driver:   "gpu.hadron.dev",
			Pool:     resourcev1.ResourcePool{Name: "pool", Generation: 1, ResourceSliceCount: 1},
			AllNodes: ptr.To(true),
			SharedCounters: []resourcev1.CounterSet{{
				Name:     "gpu-0",
				Counters: map[string]resourcev1.Counter{"memory": {Value: resource.MustParse("80Gi")}},
			}},
		},
	}
	created, err := client.ResourceV1().ResourceSlices().Create(t.Context(), slice, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ResourceSlice: %v", err)
	}
	t.Cleanup(func() {
		_ = client.ResourceV1().ResourceSlices().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	if len(created.Spec.SharedCounters) != 1 {
		t.Errorf("sharedCounters dropped, DRAPartitionableDevices not enabled? %+v", created.Spec)
	}
}

func TestPodUnschedulable(t *testing.T) {
	client := client(t)
	ctx := t.Context()
	ns := createNamespace(t, client)
	waitForServiceAccount(t, client, ns)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pending"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				t.Logf("PodScheduled=False %s: %s", cond.Reason, cond.Message)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod not reported Unschedulable: %v; status: %+v", err, last.Status)
	}
	if last.Spec.NodeName != "" {
		t.Errorf("pod bound to %q without nodes", last.Spec.NodeName)
	}
}

// TestResourceClaimController checks that the resourceclaim controller
// creates the ResourceClaim of a pod from its ResourceClaimTemplate.
func TestResourceClaimController(t *testing.T) {
	client := client(t)
	ctx := t.Context()
	ns := createNamespace(t, client)
	waitForServiceAccount(t, client, ns)

	template := &resourcev1.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu"},
		Spec: resourcev1.ResourceClaimTemplateSpec{
			Spec: resourcev1.ResourceClaimSpec{
				Devices: resourcev1.DeviceClaim{
					Requests: []resourcev1.DeviceRequest{{
						Name:    "gpu",
						Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.hadron.dev"},
					}},
				},
			},
		},
	}
	if _, err := client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, template, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ResourceClaimTemplate: %v", err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "with-claim"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:      "c",
				Image:     "registry.k8s.io/pause:3.10",
				Resources: corev1.ResourceRequirements{Claims: []corev1.ResourceClaim{{Name: "gpu"}}},
			}},
			ResourceClaims: []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr.To("gpu")}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	var claimName string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.ResourceClaimStatuses {
			if s.Name == "gpu" && s.ResourceClaimName != nil {
				claimName = *s.ResourceClaimName
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("resourceclaim controller did not create the claim: %v", err)
	}
	claim, err := client.ResourceV1().ResourceClaims(ns).Get(ctx, claimName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get generated claim: %v", err)
	}
	if len(claim.OwnerReferences) != 1 || claim.OwnerReferences[0].Name != pod.Name {
		t.Errorf("claim %s not owned by the pod: %+v", claim.Name, claim.OwnerReferences)
	}
}

// verifyStop stops the cluster and checks that no component survives and
// that the ports are free again.
func verifyStop(c *localcluster.Cluster) error {
	ports := localcluster.Ports(c)
	pids := localcluster.PIDs(c)
	if len(pids) != 4 {
		return fmt.Errorf("expected 4 component processes, got %v", pids)
	}
	start := time.Now()
	if err := c.Stop(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "localcluster: Stop took %v\n", time.Since(start))
	if err := c.Stop(); err != nil {
		return fmt.Errorf("second Stop: %w", err)
	}

	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("process %d still exists (kill: %w)", pid, err))
		}
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("process group %d still exists (kill: %w)", pid, err))
		}
	}
	if children := localcluster.ChildProcesses(); len(children) > 0 {
		errs = append(errs, fmt.Errorf("child processes remain: %v", children))
	}
	for _, port := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d not free: %w", port, err))
			continue
		}
		_ = l.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "localcluster: Stop verified: %d processes gone, ports %v free\n", len(pids), ports)
	return nil
}
