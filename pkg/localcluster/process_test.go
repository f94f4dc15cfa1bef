package localcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTailFile(t *testing.T) {
	dir := t.TempDir()
	var long strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&long, "line %d\n", i)
	}
	tests := []struct {
		name     string
		content  string
		maxLines int
		maxBytes int64
		want     string
	}{
		{name: "empty", content: "", maxLines: 3, maxBytes: 100, want: ""},
		{name: "short", content: "a\nb\n", maxLines: 3, maxBytes: 100, want: "a\nb"},
		{name: "line limit", content: "a\nb\nc\nd", maxLines: 2, maxBytes: 100, want: "c\nd"},
		{name: "byte limit drops partial line", content: long.String(), maxLines: 100, maxBytes: 20, want: "line 998\nline 999"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := tailFile(path, tc.maxLines, tc.maxBytes); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := tailFile(filepath.Join(dir, "missing"), 1, 1); !strings.Contains(got, "cannot read") {
		t.Errorf("missing file: %q", got)
	}
}

func TestProcessFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "fail.log")
	p, err := startProcess("fail", "/bin/sh", []string{"-c", "echo 'listen tcp 127.0.0.1:1234: bind: address already in use' >&2; exit 3"}, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	err = p.failure(p.exitError())
	var ce *componentError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T", err)
	}
	if !ce.bindConflict() {
		t.Errorf("bind conflict not detected in %q", ce.tail)
	}
	for _, want := range []string{"fail exited: exit status 3", "address already in use", "### /bin/sh -c"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if err := p.stop(time.Second); err != nil {
		t.Errorf("stop of exited process: %v", err)
	}
}

func TestProcessStop(t *testing.T) {
	tests := []struct {
		name   string
		script string
		max    time.Duration
	}{
		{name: "exits on SIGTERM", script: "exec sleep 60", max: 2 * time.Second},
		// The background sleep is a second member of the process group.
		{name: "ignores SIGTERM, with child", script: "trap '' TERM; sleep 60 & wait; sleep 60", max: 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := startProcess("sh", "/bin/sh", []string{"-c", tc.script}, dir, filepath.Join(dir, "sh.log"))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // let the shell start its child
			start := time.Now()
			if err := p.stop(time.Second); err != nil {
				t.Errorf("stop: %v", err)
			}
			if d := time.Since(start); d > tc.max {
				t.Errorf("stop took %v", d)
			}
			if !p.exited() {
				t.Error("process still running")
			}
			// The whole group, including the background sleep, is gone.
			if err := syscall.Kill(-p.pid(), 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process group still exists: %v", err)
			}
			// Idempotent.
			if err := p.stop(time.Second); err != nil {
				t.Errorf("second stop: %v", err)
			}
		})
	}
}

// TestPdeathsig checks that children die with the parent process even when
// it is SIGKILLed: the test binary re-executes itself as a helper which
// starts a child, and the helper is killed.
func TestPdeathsig(t *testing.T) {
	if os.Getenv("LOCALCLUSTER_PDEATHSIG_HELPER") == "1" {
		return // running as helper: see pdeathsigHelper
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(exe, "-test.run=^TestPdeathsigHelper$", "-test.count=1")
	helper.Env = append(os.Environ(), "LOCALCLUSTER_PDEATHSIG_HELPER=1", "HADRON_SKIP_INTEGRATION=1", "LOCALCLUSTER_HELPER_DIR="+t.TempDir())
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var helperStderr bytes.Buffer
	helper.Stderr = &helperStderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	// The helper prints "child <pid>" once the child runs.
	var childPID int
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if _, err := fmt.Sscanf(scanner.Text(), "child %d", &childPID); err == nil {
			break
		}
	}
	if childPID == 0 {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		t.Fatalf("helper did not report its child; its stderr:\n%s", helperStderr.String())
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for processAlive(childPID) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(childPID, syscall.SIGKILL)
			t.Fatalf("child %d survived its parent", childPID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPdeathsigHelper is the helper process of TestPdeathsig.
func TestPdeathsigHelper(t *testing.T) {
	if os.Getenv("LOCALCLUSTER_PDEATHSIG_HELPER") != "1" {
		t.Skip("helper for TestPdeathsig")
	}
	dir := os.Getenv("LOCALCLUSTER_HELPER_DIR")
	// Start from a goroutine which exits, to exercise the spawner thread.
	errCh := make(chan error)
	var p *process
	go func() {
		var err error
		p, err = startProcess("sleep", "/bin/sleep", []string{"60"}, dir, filepath.Join(dir, "sleep.log"))
		errCh <- err
	}()
	if err := <-errCh; err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child %d\n", p.pid())
	<-p.done // killed with the helper
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
