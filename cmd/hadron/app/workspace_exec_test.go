package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/deploy"
	"github.com/hadron-sched/hadron/pkg/kube"
	"github.com/hadron-sched/hadron/pkg/localcluster"
	"github.com/hadron-sched/hadron/pkg/localenv"
	"github.com/hadron-sched/hadron/pkg/workspace"
)

const (
	execTenant       = "ws-optics"
	execNamespace    = "ws-optics-carol"
	execOtherNS      = "ws-optics-dave"
	execUser         = "carol"
	execWorkspace    = "analysis"
	execProfile      = "cpu-small"
	execGPUWorkspace = "train"
	execGPUProfile   = "gpu-full"
	execGPULimit     = "2"
	execCredVersion  = "client.authentication.k8s.io/v1"
	execNode         = "workstation=1"
)

// TestWorkspaceCommandsExecPlugin runs `hadron workspace` end to end as
// a tenant user with only the shipped namespaced Role, whose kubeconfig
// gets its bearer token from an exec credential plugin, as kubelogin
// and other OIDC helpers hand tokens to kubectl: profiles, create, list,
// quota and delete work; listing another namespace is refused with the
// API server's reason.
func TestWorkspaceCommandsExecPlugin(t *testing.T) {
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v != "" {
		t.Skipf("HADRON_SKIP_INTEGRATION=%s", v)
	}
	// The commands send their logs below the state directory.
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	_, ctx := ktesting.NewTestContext(t)
	// One workstation: the GPU workspace needs a GPU, and hadron-scheduler
	// publishes tenant usage only once it has scheduled a pod with claims.
	nodes, err := localenv.ParseNodes(execNode)
	if err != nil {
		t.Fatal(err)
	}
	env, err := localenv.Start(ctx, localenv.Options{BinDir: localcluster.DefaultBinDir(), Nodes: nodes})
	if err != nil {
		t.Fatalf("start local environment (run `make build` or set HADRON_BIN_DIR): %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop local environment: %v", err)
		}
	})

	execTenantNamespaces(t, env)
	token := execTenantToken(t, env)
	dir := t.TempDir()
	marker := filepath.Join(dir, "plugin-calls")
	kubeconfig := writeExecKubeconfig(t, env, dir, token, marker)
	hadron := func(args ...string) (string, string, error) {
		return runHadron(ctx, append(args, "--kubeconfig", kubeconfig)...)
	}

	// profiles: the user may not read the admin's ConfigMap in
	// hadron-system, so the built-ins, with a note.
	stdout, stderr, err := hadron("workspace", "profiles")
	if err != nil {
		t.Fatalf("workspace profiles: %v (stderr %q)", err, stderr)
	}
	if !regexp.MustCompile(`(?m)^` + execProfile + `\s`).MatchString(stdout) {
		t.Errorf("workspace profiles does not list %s:\n%s", execProfile, stdout)
	}
	if !strings.Contains(stderr, "note:") || !strings.Contains(stderr, "built-in profiles only") {
		t.Errorf("workspace profiles: stderr %q, want a note that only the built-in profiles are offered", stderr)
	}
	calls, err := os.ReadFile(marker)
	if err != nil || !strings.Contains(string(calls), execCredVersion) {
		t.Fatalf("the exec plugin was not called with %s exec info: %q (%v)", execCredVersion, calls, err)
	}

	// create --no-wait: the pod and its Service exist, labelled. A GPU
	// workspace too, whose device the tenant's quota counts.
	for _, w := range []struct{ name, profile string }{{execWorkspace, execProfile}, {execGPUWorkspace, execGPUProfile}} {
		stdout, stderr, err = hadron("workspace", "create", w.name, "--profile", w.profile, "--no-wait", "-n", execNamespace)
		if err != nil {
			t.Fatalf("workspace create %s: %v (stderr %q)", w.name, err, stderr)
		}
		if want := "workspace " + execNamespace + "/" + w.name + " created from profile " + w.profile + "\n"; stdout != want {
			t.Errorf("workspace create printed %q, want %q", stdout, want)
		}
		pod, err := env.Client.CoreV1().Pods(execNamespace).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil || pod.Labels[workspace.LabelWorkspace] != w.name {
			t.Fatalf("workspace pod %s after create: %v (labels %v)", w.name, err, podLabels(pod))
		}
		if _, err := env.Client.CoreV1().Services(execNamespace).Get(ctx, w.name, metav1.GetOptions{}); err != nil {
			t.Fatalf("workspace Service %s after create: %v", w.name, err)
		}
	}

	// list: both workspaces with their profiles, not yet or just started
	// (create did not wait); the CPU one with no devices and no NUMA node.
	stdout, stderr, err = hadron("workspace", "list", "-n", execNamespace)
	if err != nil {
		t.Fatalf("workspace list: %v (stderr %q)", err, stderr)
	}
	row := regexp.MustCompile(`(?m)^` + execWorkspace + `\s+` + execProfile + `\s+(Pending|Running)\s+(-|workstation-1)\s+-\s+-\s+\S+\s+-$`)
	if !strings.HasPrefix(stdout, "NAME") || !row.MatchString(stdout) {
		t.Errorf("workspace list does not show %s (%s, no devices, no NUMA node):\n%s", execWorkspace, execProfile, stdout)
	}
	if !regexp.MustCompile(`(?m)^` + execGPUWorkspace + `\s+` + execGPUProfile + `\s+(Pending|Running)\s`).MatchString(stdout) {
		t.Errorf("workspace list does not show %s (%s):\n%s", execGPUWorkspace, execGPUProfile, stdout)
	}

	// quota: the tenant, and the GPU workspace's device counted against
	// its limit once hadron-scheduler has allocated it and published the
	// usage in the namespace.
	stdout = waitQuotaOutput(t, hadron, regexp.MustCompile(`(?m)^gpus\s+1\s+`+execGPULimit+`$`))
	if !regexp.MustCompile(`(?m)^Tenant:\s+`+execTenant+`$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^Namespaces:\s+`+execNamespace+`, `+execOtherNS+`\s`).MatchString(stdout) {
		t.Errorf("workspace quota does not show tenant %s with namespaces %s and %s:\n%s", execTenant, execNamespace, execOtherNS, stdout)
	}

	// A namespace the user has no rights in: the API server's refusal,
	// naming the user and the namespace.
	stdout, _, err = hadron("workspace", "list", "-n", execOtherNS)
	if err == nil {
		t.Fatalf("workspace list -n %s succeeded without rights:\n%s", execOtherNS, stdout)
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `namespace "`+execOtherNS+`"`) ||
		!strings.Contains(err.Error(), execUser) {
		t.Errorf("workspace list -n %s: %v, want a forbidden error naming the user and the namespace", execOtherNS, err)
	}

	// delete: pods, Services and the GPU workspace's claim template go.
	stdout, stderr, err = hadron("workspace", "delete", execWorkspace, execGPUWorkspace, "-n", execNamespace)
	if err != nil {
		t.Fatalf("workspace delete: %v (stderr %q)", err, stderr)
	}
	if want := "workspace " + execNamespace + "/" + execWorkspace + " deleted (Pod, Service)\n" +
		"workspace " + execNamespace + "/" + execGPUWorkspace + " deleted (Pod, Service, ResourceClaimTemplate)\n"; stdout != want {
		t.Errorf("workspace delete printed %q, want %q", stdout, want)
	}
	waitWorkspaceGone(t, env, execWorkspace)
	waitWorkspaceGone(t, env, execGPUWorkspace)
	stdout, stderr, err = hadron("workspace", "list", "-n", execNamespace)
	if err != nil || stdout != "no workspaces in namespace "+execNamespace+"\n" {
		t.Errorf("workspace list after delete: %q, %v (stderr %q)", stdout, err, stderr)
	}
}

// runHadron runs the hadron root command with args and returns what it
// wrote to stdout and stderr.
func runHadron(ctx context.Context, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := NewCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	err := cmd.ExecuteContext(ctx)
	return stdout.String(), stderr.String(), err
}

// execTenantNamespaces creates the tenant with a GPU quota, its namespace
// with the shipped Role bound to the user's ServiceAccount, and a second
// namespace of the tenant where the user has no rights.
func execTenantNamespaces(t *testing.T, env *localenv.Env) {
	t.Helper()
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tenant := &unstructured.Unstructured{}
	tenant.SetAPIVersion("capsule.clastix.io/v1beta2")
	tenant.SetKind("Tenant")
	tenant.SetName(execTenant)
	tenant.SetLabels(map[string]string{"quota.hadron.dev/gpus": execGPULimit})
	tenants := schema.GroupVersionResource{Group: "capsule.clastix.io", Version: "v1beta2", Resource: "tenants"}
	// The CRD was just installed: creating a Tenant fails until the API
	// server serves it.
	var createErr error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, createErr = dyn.Resource(tenants).Create(ctx, tenant, metav1.CreateOptions{})
		return createErr == nil, nil
	})
	if err != nil {
		t.Fatalf("create Tenant: %v (%v)", err, createErr)
	}
	for _, name := range []string{execNamespace, execOtherNS} {
		ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"capsule.clastix.io/tenant": execTenant}}}
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	applier, err := kube.NewApplier(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFS(ctx, deploy.WorkspaceRBAC, "workspaces/rbac/tenant-role.yaml", execNamespace); err != nil {
		t.Fatal(err)
	}
	identity := []byte(`apiVersion: v1
kind: ServiceAccount
metadata: {name: ` + execUser + `}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ` + execUser + `-workspaces}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: hadron-workspace-user}
subjects: [{kind: ServiceAccount, name: ` + execUser + `, namespace: ` + execNamespace + `}]
`)
	if _, err := applier.Apply(ctx, identity, execNamespace); err != nil {
		t.Fatal(err)
	}
}

// execTenantToken is a bearer token of the user's ServiceAccount: like
// an OIDC ID token, it authenticates the user, and RBAC alone decides
// what the user may do.
func execTenantToken(t *testing.T, env *localenv.Env) string {
	t.Helper()
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}
	got, err := env.Client.CoreV1().ServiceAccounts(execNamespace).CreateToken(t.Context(), execUser, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", execNamespace, execUser, err)
	}
	return got.Status.Token
}

// writeExecKubeconfig writes a kubeconfig whose user runs a credential
// plugin: a shell script that records the exec info client-go gives it
// in marker and prints an ExecCredential with token.
func writeExecKubeconfig(t *testing.T, env *localenv.Env, dir, token, marker string) string {
	t.Helper()
	if strings.ContainsAny(token, `'\`) {
		t.Fatalf("token %q cannot be quoted for the shell", token)
	}
	plugin := filepath.Join(dir, "credential-plugin")
	script := `#!/bin/sh
printf '%s\n' "$KUBERNETES_EXEC_INFO" >> "$HADRON_TEST_PLUGIN_MARKER"
printf '%s\n' '{"apiVersion":"` + execCredVersion + `","kind":"ExecCredential","status":{"token":"` + token + `"}}'
`
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos[execUser] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:      execCredVersion,
		Command:         plugin,
		Env:             []clientcmdapi.ExecEnvVar{{Name: "HADRON_TEST_PLUGIN_MARKER", Value: marker}},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: execUser}
	cfg.CurrentContext = "local"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitQuotaOutput runs `workspace quota` until its output matches want:
// hadron-scheduler publishes the tenant's ConfigMap and updates it every
// few seconds. An error other than the ConfigMap's absence fails the
// test.
func waitQuotaOutput(t *testing.T, hadron func(args ...string) (string, string, error), want *regexp.Regexp) string {
	t.Helper()
	var stdout string
	var lastErr error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		stdout, _, lastErr = hadron("workspace", "quota", "-n", execNamespace)
		if lastErr != nil && !strings.Contains(lastErr.Error(), "no ConfigMap "+workspace.QuotaConfigMap) {
			return false, lastErr
		}
		return lastErr == nil && want.MatchString(stdout), nil
	})
	if err != nil {
		t.Fatalf("workspace quota never showed %s: %v (last error: %v, last output:\n%s)", want, err, lastErr, stdout)
	}
	return stdout
}

// waitWorkspaceGone waits until the workspace's pod and Service are gone.
func waitWorkspaceGone(t *testing.T, env *localenv.Env, name string) {
	t.Helper()
	var podErr, svcErr error
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, podErr = env.Client.CoreV1().Pods(execNamespace).Get(ctx, name, metav1.GetOptions{})
		_, svcErr = env.Client.CoreV1().Services(execNamespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(podErr) && apierrors.IsNotFound(svcErr), nil
	})
	if err != nil {
		t.Fatalf("workspace %s/%s not gone: pod %v, Service %v", execNamespace, name, podErr, svcErr)
	}
}

func podLabels(pod *v1.Pod) map[string]string {
	if pod == nil {
		return nil
	}
	return pod.Labels
}
