package nri

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
)

const (
	running = api.ContainerState_CONTAINER_RUNNING
	stopped = api.ContainerState_CONTAINER_STOPPED
)

func wantCPUs(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s: cpusets = %v, want %v", what, got, want)
	}
}

// TestPluginWithRuntime drives the plugin through a real NRI runtime side:
// registration and synchronisation after a driver restart, container
// creation, a forged claim, the kubelet rewriting a cpuset, an unprepare,
// and a runtime restart.
func TestPluginWithRuntime(t *testing.T) {
	dir := socketDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The checkpoint-backed driver state: claim c0 (CPUs 6-7) for pod b.
	f := newFake("0-7").prepare("c0", "6-7", "pod-b")
	podA, podB, podC, podD := pod("pod-a"), pod("pod-b"), pod("pod-c"), pod("pod-d")
	a1 := nriContainer("a1", podA, running, "0-7")
	b1 := nriContainer("b1", podB, running, "0-7", "c0")
	rt := startRuntime(t, dir, []*api.PodSandbox{podA, podB},
		[]*api.Container{a1, b1, nriContainer("old", podA, stopped, "0-7")})
	defer func() { rt.stop() }()
	proxy := startProxy(t, filepath.Join(dir, "nri.sock"), filepath.Join(dir, "runtime.sock"))

	p, err := New(f, Options{SocketPath: filepath.Join(dir, "nri.sock"), RetryInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// Synchronisation puts every live container on its cpuset.
	wantCPUs(t, "sync", rt.waitSynced(), map[string]string{"a1": "0-5", "b1": "6-7"})

	// A claim's container is created: pinned, and the shared one shrunk.
	// The driver has not signalled yet, so the create does it all.
	f.prepare("c1", "2-3", "pod-c")
	if err := rt.nri.RunPodSandbox(ctx, &api.RunPodSandboxRequest{Pod: podC}); err != nil {
		t.Fatal(err)
	}
	c1 := nriContainer("c1", podC, api.ContainerState_CONTAINER_CREATED, "", "c1")
	rpl, err := rt.nri.CreateContainer(ctx, &api.CreateContainerRequest{Pod: podC, Container: c1})
	if err != nil {
		t.Fatal(err)
	}
	if got := rpl.GetAdjust().GetLinux().GetResources().GetCpu().GetCpus(); got != "2-3" {
		t.Errorf("create c1: cpuset = %q, want 2-3", got)
	}
	wantCPUs(t, "create c1 updates", cpusOf(rpl.GetUpdate()), map[string]string{"a1": "0-1,4-5"})

	// A pod naming someone else's claim (and an unknown one) gets the
	// shared pool and moves nobody.
	d1 := nriContainer("d1", podD, api.ContainerState_CONTAINER_CREATED, "", "c1", "no-such-claim")
	rpl, err = rt.nri.CreateContainer(ctx, &api.CreateContainerRequest{Pod: podD, Container: d1})
	if err != nil {
		t.Fatal(err)
	}
	if got := rpl.GetAdjust().GetLinux().GetResources().GetCpu().GetCpus(); got != "0-1,4-5" {
		t.Errorf("create d1: cpuset = %q, want 0-1,4-5", got)
	}
	wantCPUs(t, "create d1 updates", cpusOf(rpl.GetUpdate()), map[string]string{})

	// The kubelet's CPU manager rewrites b1's cpuset from its own view.
	urpl, err := rt.nri.UpdateContainer(ctx, &api.UpdateContainerRequest{
		Pod: podB, Container: b1,
		LinuxResources: &api.LinuxResources{Cpu: &api.LinuxCPU{Cpus: "0-7"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCPUs(t, "kubelet update of b1", cpusOf(urpl.GetUpdate()), map[string]string{"b1": "6-7"})

	// c1 stops, the kubelet unprepares c1: shared containers grow back.
	if _, err := rt.nri.StopContainer(ctx, &api.StopContainerRequest{Pod: podC, Container: c1}); err != nil {
		t.Fatal(err)
	}
	if err := rt.nri.RemoveContainer(ctx, &api.RemoveContainerRequest{Pod: podC, Container: c1}); err != nil {
		t.Fatal(err)
	}
	f.unprepare("c1")
	f.notify()
	wantCPUs(t, "after unprepare", rt.waitUpdates(), map[string]string{"a1": "0-5", "d1": "0-5"})

	// The runtime restarts. Meanwhile claim c2 is prepared: nobody to tell.
	rt.stop()
	proxy.cut()
	f.prepare("c2", "0-1", "pod-e")
	f.notify()
	a1.Linux.Resources.Cpu.Cpus = "0-5"
	b1.Linux.Resources.Cpu.Cpus = "6-7"
	d1.State, d1.Linux.Resources.Cpu.Cpus = running, "0-5"
	rt = startRuntime(t, dir, []*api.PodSandbox{podA, podB, podD}, []*api.Container{a1, b1, d1})
	wantCPUs(t, "sync after runtime restart", rt.waitSynced(), map[string]string{"a1": "2-5", "d1": "2-5"})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case ups := <-rt.updates:
		t.Errorf("unexpected unsolicited updates %v", cpusOf(ups))
	default:
	}
}

func TestRunWithoutSocket(t *testing.T) {
	err := Run(context.Background(), newFake("0-7"), Options{SocketPath: filepath.Join(t.TempDir(), "nri.sock")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Run without socket = %v, want fs.ErrNotExist", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Assignments
		opts Options
	}{
		{"nil assignments", nil, Options{}},
		{"bad index", newFake("0-7"), Options{PluginIndex: "9"}},
		{"bad name", newFake("0-7"), Options{PluginName: "no spaces"}},
	} {
		if _, err := New(tc.a, tc.opts); err == nil {
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
	p, err := New(newFake("0-7"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.opts.SocketPath != "/var/run/nri/nri.sock" || p.opts.PluginName != "hadron-cpu" || p.opts.PluginIndex != "90" {
		t.Errorf("defaults = %+v", p.opts)
	}
}
