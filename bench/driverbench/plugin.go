package driverbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// PluginBinary is the kubelet plugin's file name in the binary directory.
const PluginBinary = "hadron-kubelet-plugin"

// pluginProcess is one running hadron-kubelet-plugin.
type pluginProcess struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// pluginFlags describes pluginArgs for the report.
const pluginFlags = "`--machine=<machine> [--gpu-mode=<mode>] --nri=false`, the node's kubelet, CDI and sysfs directories, the default client QPS and burst"

// pluginArgs are the flags that run target's machine as node's plugin:
// the node's own kubelet directory (where its kubelet code watches for
// registrations), sysfs tree and CDI directory, and no NRI (there is no
// container runtime).
func pluginArgs(target Target, node *nodesim.Node, kubeconfig string) []string {
	args := []string{
		"--node-name=" + node.Name,
		"--machine=" + target.Node.Machine,
		"--sysfs-root=" + node.SysfsRoot(),
		"--kubelet-dir=" + node.KubeletDir(),
		"--cdi-dir=" + node.CDIDir(),
		"--kubeconfig=" + kubeconfig,
		"--nri=false",
	}
	if target.GPUMode != "" {
		args = append(args, "--gpu-mode="+target.GPUMode)
	}
	return args
}

// startPlugin starts the binary with its output in logPath.
func startPlugin(binary string, args []string, logPath string) (*pluginProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create plugin log: %w", err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &pluginProcess{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = log.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *pluginProcess) pid() int { return p.cmd.Process.Pid }

// running returns an error, with the end of the plugin's log, once the
// process has exited.
func (p *pluginProcess) running() error {
	select {
	case <-p.exited:
		if p.waitErr == nil {
			return fmt.Errorf("hadron-kubelet-plugin exited; its log ends with:\n%s", p.logTail())
		}
		return fmt.Errorf("hadron-kubelet-plugin exited (%w); its log ends with:\n%s", p.waitErr, p.logTail())
	default:
		return nil
	}
}

func (p *pluginProcess) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	const keep = 2000
	if len(data) > keep {
		data = data[len(data)-keep:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// stop asks the plugin to stop, as the kubelet's container runtime does,
// and kills it if it has not exited after a grace period.
func (p *pluginProcess) stop(ctx context.Context) error {
	if err := p.running(); err != nil {
		return err
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop hadron-kubelet-plugin: %w", err)
	}
	grace := time.NewTimer(15 * time.Second)
	defer grace.Stop()
	select {
	case <-p.exited:
	case <-grace.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("hadron-kubelet-plugin did not stop within 15s of SIGTERM; log:\n%s", p.logTail())
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
		return ctx.Err()
	}
	var exit *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &exit) {
		return fmt.Errorf("hadron-kubelet-plugin: %w", p.waitErr)
	}
	if exit != nil && !exit.Success() {
		return fmt.Errorf("hadron-kubelet-plugin stopped with %w; log:\n%s", p.waitErr, p.logTail())
	}
	return nil
}
