package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
)

// RestartScheduler stops the scheduler (SIGTERM, SIGKILL after 10s) and
// starts it again with the same binary, configuration and flags, as a
// crash or an upgrade would. It returns once the new scheduler is ready,
// i.e. its informers and event handlers have synced. The previous log is
// kept next to the new one, as <log>.previous.
func (c *Cluster) RestartScheduler(ctx context.Context) error {
	c.mu.Lock()
	i := slices.IndexFunc(c.procs, func(p *process) bool { return p.name == ComponentScheduler })
	var old *process
	if i >= 0 {
		old = c.procs[i]
		c.procs = slices.Delete(c.procs, i, i+1)
	}
	c.mu.Unlock()
	if old == nil {
		return errors.New("restart scheduler: the cluster is not running")
	}
	if err := old.stop(stopGrace); err != nil {
		return fmt.Errorf("restart scheduler: %w", err)
	}
	if err := os.Rename(old.logPath, old.logPath+".previous"); err != nil {
		return fmt.Errorf("restart scheduler: keep old log: %w", err)
	}
	bins, err := c.opts.binaries()
	if err != nil {
		return fmt.Errorf("restart scheduler: %w", err)
	}
	sched, err := c.startComponent(ComponentScheduler, bins.scheduler, schedulerArgs(newPaths(c.opts.WorkDir), c.ports))
	if err != nil {
		return fmt.Errorf("restart scheduler: %w", err)
	}
	insecureHTTP := newProbeClient()
	defer insecureHTTP.CloseIdleConnections()
	if err := c.waitSchedulerReady(ctx, "restarted scheduler to become ready", insecureHTTP, sched); err != nil {
		return fmt.Errorf("restart scheduler: %w", err)
	}
	c.opts.Progress(c.opts.SchedulerBinary + " restarted")
	return nil
}
