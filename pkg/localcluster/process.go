package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one running control plane component.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited and was reaped
	waitErr error         // valid after done is closed
}

// startProcess starts binary with args in its own process group, stdout and
// stderr appended to logPath (which is truncated first).
func startProcess(name, binary string, args []string, dir, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	fmt.Fprintf(logFile, "### %s %s\n", binary, strings.Join(args, " "))

	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group so that Stop can signal everything the
		// component may have spawned.
		Setpgid: true,
		// Die with the parent, even if it crashes or is SIGKILLed.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := spawn(cmd); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// spawner starts all child processes from one OS thread which never
// exits: Pdeathsig fires when the thread that forked the child exits, not
// when the process does, and the Go runtime may end threads (for example
// when a goroutine exits while locked to its thread).
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for req := range spawner.reqs {
				req.done <- req.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has terminated.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended; only valid once exited.
func (p *process) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("%s exited: %w", p.name, p.waitErr)
	}
	return fmt.Errorf("%s exited unexpectedly with status 0", p.name)
}

// stop sends SIGTERM to the process group, waits up to grace for the
// process to exit, then SIGKILLs the group. Afterwards it kills whatever is
// left in the process group. Calling it again is harmless.
func (p *process) stop(grace time.Duration) error {
	pgid := p.pid() // == pid because of Setpgid
	var err error
	if !p.exited() {
		if e := syscall.Kill(-pgid, syscall.SIGTERM); e != nil && !errors.Is(e, syscall.ESRCH) {
			err = fmt.Errorf("SIGTERM %s: %w", p.name, e)
		}
		timer := time.NewTimer(grace)
		select {
		case <-p.done:
			timer.Stop()
		case <-timer.C:
			if e := syscall.Kill(-pgid, syscall.SIGKILL); e != nil && !errors.Is(e, syscall.ESRCH) {
				err = errors.Join(err, fmt.Errorf("SIGKILL %s: %w", p.name, e))
			}
			<-p.done
		}
	}
	// Members of the group which outlived the leader, if any. They are
	// reaped by init (or a subreaper); give that a moment so that the
	// group is gone when stop returns.
	if e := syscall.Kill(-pgid, syscall.SIGKILL); e == nil {
		deadline := time.Now().Add(2 * time.Second)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	} else if !errors.Is(e, syscall.ESRCH) {
		err = errors.Join(err, fmt.Errorf("kill process group of %s: %w", p.name, e))
	}
	return err
}

// logTail returns the last lines of the component log.
func (p *process) logTail() string {
	return tailFile(p.logPath, 40, 8<<10)
}

// tailFile returns at most maxLines lines from the last maxBytes of path.
func tailFile(path string, maxLines int, maxBytes int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("<cannot read %s: %v>", path, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("<cannot stat %s: %v>", path, err)
	}
	off := st.Size() - maxBytes
	if off < 0 {
		off = 0
	}
	data, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return fmt.Sprintf("<cannot read %s: %v>", path, err)
	}
	if off > 0 {
		// Drop the partial first line.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// componentError is returned by Start when a component failed; it carries
// the tail of the component's log.
type componentError struct {
	component string
	logPath   string
	err       error
	tail      string
}

func (e *componentError) Error() string {
	return fmt.Sprintf("%s: %v\n--- last lines of %s ---\n%s\n---", e.component, e.err, e.logPath, e.tail)
}

func (e *componentError) Unwrap() error { return e.err }

// bindConflict reports whether the error was caused by a port that was
// taken between choosing and using it.
func (e *componentError) bindConflict() bool {
	return strings.Contains(e.tail, "address already in use")
}

func (p *process) failure(err error) error {
	return &componentError{component: p.name, logPath: p.logPath, err: err, tail: p.logTail()}
}
