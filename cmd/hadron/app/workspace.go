package app

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/hadron-sched/hadron/pkg/workspace"
)

// workspaceFlags are kubectl's connection flags (--kubeconfig, --context,
// -n, ...): they load the kubeconfig with client-go's rules, so
// exec-plugin (OIDC, kubelogin) kubeconfigs work as with kubectl.
type workspaceFlags struct {
	config *genericclioptions.ConfigFlags
}

func newWorkspaceCommand() *cobra.Command {
	f := &workspaceFlags{config: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:     "workspace",
		Aliases: []string{"ws"},
		Short:   "Create and manage research workspaces from named profiles",
		Long: `A workspace is a pod with pinned CPUs, memory and GPUs (or GPU slices),
NUMA-aligned, made from a named profile: no YAML to write. Profiles are
built in (hadron workspace profiles) and a cluster admin may add more.
Everything works with the rights of a tenant user in their namespace.`,
	}
	f.config.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newWorkspaceCreateCommand(f), newWorkspaceListCommand(f), newWorkspaceDescribeCommand(f),
		newWorkspaceDeleteCommand(f), newWorkspaceQuotaCommand(f), newWorkspaceProfilesCommand(f),
		newWorkspaceJupyterHubCommand(f),
	)
	return cmd
}

// kube returns a client and the namespace to work in. Without
// --kubeconfig and $KUBECONFIG it uses the local cluster's, like
// `hadron kubectl`.
func (f *workspaceFlags) kube() (kubernetes.Interface, string, error) {
	if *f.config.KubeConfig == "" && os.Getenv("KUBECONFIG") == "" {
		if _, err := os.Stat(defaultKubeconfig()); err == nil {
			*f.config.KubeConfig = defaultKubeconfig()
		}
	}
	cfg, err := f.config.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := f.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("namespace: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("client: %w", err)
	}
	return client, ns, nil
}

func (f *workspaceFlags) client() (*workspace.Client, error) {
	kube, ns, err := f.kube()
	if err != nil {
		return nil, err
	}
	return &workspace.Client{Kube: kube, Namespace: ns}, nil
}
