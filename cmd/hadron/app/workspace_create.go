package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/pkg/workspace"
)

func newWorkspaceCreateCommand(f *workspaceFlags) *cobra.Command {
	var profile string
	var timeout time.Duration
	var noWait bool
	cmd := &cobra.Command{
		Use:   "create NAME --profile PROFILE",
		Short: "Create a workspace and wait until it runs, saying why while it cannot",
		Example: `  hadron workspace create analysis --profile cpu-small
  hadron workspace create train -n physics-alice --profile gpu-full --timeout 15m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if profile == "" {
				return fmt.Errorf("--profile is required (hadron workspace profiles lists them)")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			set, err := workspace.LoadProfiles(ctx, c.Kube)
			if err != nil {
				return err
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if set.Note != "" {
				fmt.Fprintln(errOut, "note:", set.Note)
			}
			p, err := workspace.FindProfile(set.Profiles, profile)
			if err != nil {
				return err
			}
			objs, err := c.Create(ctx, p, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "workspace %s/%s created from profile %s\n", c.Namespace, args[0], p.Name)
			if noWait {
				return nil
			}
			waitCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			_, err = c.WaitRunning(waitCtx, args[0], func(p workspace.Progress) {
				fmt.Fprintf(out, "  %6s  %s\n", time.Since(start).Round(time.Second), p)
			})
			if err != nil {
				return fmt.Errorf("%w\nthe workspace stays and starts when it can; hadron workspace describe %s shows it, hadron workspace delete %s removes it",
					err, args[0], args[0])
			}
			fmt.Fprintln(out, workspace.ConnectHint(objs.Service))
			return nil
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "", "the workspace's profile (hadron workspace profiles lists them)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the workspace to run")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the workspace is created")
	return cmd
}
