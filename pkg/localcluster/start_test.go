package localcluster

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// integrationOptions returns Options for tests which start their own
// cluster in addition to the one of TestMain.
func integrationOptions(t *testing.T) Options {
	t.Helper()
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v == "1" || v == "true" {
		t.Skip("HADRON_SKIP_INTEGRATION is set")
	}
	return Options{
		BinDir:          DefaultBinDir(),
		WorkDir:         t.TempDir(),
		SchedulerBinary: os.Getenv("HADRON_SCHEDULER_BINARY"), // empty: hadron-scheduler
		Progress:        func(step string) { t.Log(step) },
	}
}

// TestStartFailure checks that a component which fails to start is
// reported with its log and that everything started before is stopped.
func TestStartFailure(t *testing.T) {
	opts := integrationOptions(t)
	opts.ExtraArgs = map[string][]string{ComponentScheduler: {"--no-such-flag"}}

	childrenBefore := ChildProcesses()
	oldPick := pickPorts
	t.Cleanup(func() { pickPorts = oldPick })
	var picked ports
	pickPorts = func() (ports, error) {
		p, err := freePorts()
		picked = p
		return p, err
	}

	before := time.Now()
	c, err := Start(t.Context(), opts)
	if err == nil {
		_ = c.Stop()
		t.Fatal("Start succeeded with an invalid scheduler flag")
	}
	t.Logf("Start failed after %v as expected: %v", time.Since(before), err)
	var ce *componentError
	if !errors.As(err, &ce) || ce.component != ComponentScheduler {
		t.Fatalf("error does not blame the scheduler: %v", err)
	}
	for _, want := range []string{"unknown flag: --no-such-flag", "scheduler.log", opts.WorkDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q", want)
		}
	}
	if after := ChildProcesses(); strings.Join(after, ",") != strings.Join(childrenBefore, ",") {
		t.Errorf("child processes before Start: %v, after failed Start: %v", childrenBefore, after)
	}
	for _, port := range picked.all() {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d still in use after failed start: %v", port, err)
			continue
		}
		_ = l.Close()
	}
}

// TestPortConflictRetry checks that Start retries once with new ports when
// a port was taken between choosing and binding it.
func TestPortConflictRetry(t *testing.T) {
	opts := integrationOptions(t)

	// Hold the etcd client port of the first attempt.
	blocker, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Close() }()
	calls := 0
	oldPick := pickPorts
	t.Cleanup(func() { pickPorts = oldPick })
	pickPorts = func() (ports, error) {
		calls++
		p, err := freePorts()
		if calls == 1 {
			p.etcdClient = blocker.Addr().(*net.TCPAddr).Port
		}
		return p, err
	}

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	pids := PIDs(c)
	if err := c.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if calls != 2 {
		t.Errorf("ports picked %d times, want 2", calls)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists", pid)
		}
	}
}
