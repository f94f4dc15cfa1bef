package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/pkg/workspace"
)

func newWorkspaceListCommand(f *workspaceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the namespace's workspaces with their devices, NUMA nodes and idle time",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			list, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no workspaces in namespace %s\n", c.Namespace)
				return nil
			}
			return workspace.PrintList(cmd.OutOrStdout(), list, time.Now())
		},
	}
}

func newWorkspaceDescribeCommand(f *workspaceFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a workspace with its claims, devices and events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			d, err := c.Describe(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return workspace.PrintDetail(cmd.OutOrStdout(), d, time.Now())
		},
	}
}

func newWorkspaceDeleteCommand(f *workspaceFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete workspaces: pod, Service and claim template",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			for _, name := range args {
				deleted, err := c.Delete(cmd.Context(), name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "workspace %s/%s deleted (%s)\n", c.Namespace, name, strings.Join(deleted, ", "))
			}
			return nil
		},
	}
}

func newWorkspaceQuotaCommand(f *workspaceFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "quota",
		Short: "Show your tenant's device usage and limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			r, err := c.Quota(cmd.Context())
			if err != nil {
				return err
			}
			return workspace.PrintQuota(cmd.OutOrStdout(), r)
		},
	}
}

func newWorkspaceProfilesCommand(f *workspaceFlags) *cobra.Command {
	var builtinOnly bool
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the workspace profiles (built-in and the admin's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := f.profiles(cmd, builtinOnly)
			if err != nil {
				return err
			}
			return workspace.PrintProfiles(cmd.OutOrStdout(), set.Profiles)
		},
	}
	cmd.Flags().BoolVar(&builtinOnly, "builtin-only", false, "only the built-in profiles; needs no cluster")
	return cmd
}

func newWorkspaceJupyterHubCommand(f *workspaceFlags) *cobra.Command {
	var builtinOnly, claimTemplates bool
	cmd := &cobra.Command{
		Use:   "jupyterhub-values",
		Short: "Print Zero-to-JupyterHub values whose profile list comes from the workspace profiles",
		Long: `Prints singleuser.profileList for Zero-to-JupyterHub (KubeSpawner's profile_list),
one entry per workspace profile, for pods scheduled by hadron-scheduler with
ResourceClaims from per-profile ResourceClaimTemplates. --claim-templates
prints those templates instead; apply them in the hub's namespace.`,
		Example: `  hadron workspace jupyterhub-values > values.yaml
  hadron workspace jupyterhub-values --claim-templates | hadron kubectl apply -n jhub -f -
  helm upgrade --install jhub jupyterhub/jupyterhub -n jhub -f values.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := f.profiles(cmd, builtinOnly)
			if err != nil {
				return err
			}
			render := workspace.JupyterHubValues
			if claimTemplates {
				render = workspace.JupyterHubClaimTemplates
			}
			data, err := render(set.Profiles)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	cmd.Flags().BoolVar(&builtinOnly, "builtin-only", false, "only the built-in profiles; needs no cluster")
	cmd.Flags().BoolVar(&claimTemplates, "claim-templates", false, "print the ResourceClaimTemplates the hub's namespace needs")
	return cmd
}

// profiles loads the profiles from the cluster, or only the built-in
// ones; a note goes to stderr.
func (f *workspaceFlags) profiles(cmd *cobra.Command, builtinOnly bool) (workspace.ProfileSet, error) {
	if builtinOnly {
		p, err := workspace.BuiltinProfiles()
		return workspace.ProfileSet{Profiles: p}, err
	}
	kube, _, err := f.kube()
	if err != nil {
		return workspace.ProfileSet{}, err
	}
	set, err := workspace.LoadProfiles(cmd.Context(), kube)
	if err != nil {
		return set, err
	}
	if set.Note != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", set.Note)
	}
	return set, nil
}
