package localcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
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
	insecureHTTP := &http.Client{
		Timeout: 2 * time.Second,
		// The scheduler serves with an in-memory self-signed certificate;
		// this client is used for the readiness probe only.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // readiness probe of a local component with a self-signed certificate
	}
	defer insecureHTTP.CloseIdleConnections()
	url := "https://127.0.0.1:" + strconv.Itoa(c.ports.scheduler) + "/readyz"
	if err := waitFor(ctx, "restarted scheduler to become ready", sched, []*process{sched}, func(ctx context.Context) error {
		return probe(ctx, insecureHTTP, url, "")
	}); err != nil {
		return fmt.Errorf("restart scheduler: %w", err)
	}
	c.opts.Progress(c.opts.SchedulerBinary + " restarted")
	return nil
}
