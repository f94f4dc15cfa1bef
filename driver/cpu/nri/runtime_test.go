package nri

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"
	"k8s.io/klog/v2"
)

// waitTimeout bounds every wait on the runtime; normal steps take
// milliseconds.
const waitTimeout = 5 * time.Second

func init() {
	// The runtime side logs through NRI's global logger (logrus by
	// default); route it to klog so that it follows -v like the plugin.
	nrilog.Set(nriLogger{klog.Background().WithName("runtime")})
}

// testRuntime is the runtime side of NRI, run in-process: the real
// adaptation library with an in-memory list of pods and containers.
type testRuntime struct {
	t   *testing.T
	nri *adaptation.Adaptation

	mu      sync.Mutex
	ready   bool // Start returned: later syncs are for connecting plugins
	pods    []*api.PodSandbox
	ctrs    []*api.Container
	synced  chan []*api.ContainerUpdate // what each plugin sync returned
	updates chan []*api.ContainerUpdate // unsolicited updates
}

// socketDir returns a short temporary directory: unix socket paths are
// limited to about 100 bytes, which t.TempDir can exceed.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hadron-nri-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func startRuntime(t *testing.T, dir string, pods []*api.PodSandbox, ctrs []*api.Container) *testRuntime {
	t.Helper()
	r := &testRuntime{
		t:       t,
		pods:    pods,
		ctrs:    ctrs,
		synced:  make(chan []*api.ContainerUpdate, 4),
		updates: make(chan []*api.ContainerUpdate, 16),
	}
	a, err := adaptation.New("test-runtime", "1.0.0", r.sync, r.update,
		adaptation.WithPluginPath(filepath.Join(dir, "plugins")),
		adaptation.WithPluginConfigPath(filepath.Join(dir, "conf.d")),
		adaptation.WithSocketPath(filepath.Join(dir, "runtime.sock")),
	)
	if err != nil {
		t.Fatalf("adaptation.New: %v", err)
	}
	if err := a.Start(); err != nil {
		t.Fatalf("adaptation Start: %v", err)
	}
	r.nri = a
	r.mu.Lock()
	r.ready = true
	r.mu.Unlock()
	return r
}

func (r *testRuntime) stop() {
	if r.nri != nil {
		r.nri.Stop()
		r.nri = nil
	}
}

// sync hands the runtime's state to a connecting plugin and reports what
// the plugin asked for.
func (r *testRuntime) sync(ctx context.Context, cb adaptation.SyncCB) error {
	r.mu.Lock()
	pods, ctrs, ready := r.pods, r.ctrs, r.ready
	r.mu.Unlock()
	ups, err := cb(ctx, pods, ctrs)
	if err != nil {
		return err
	}
	if ready {
		r.synced <- ups
	}
	return nil
}

func (r *testRuntime) update(_ context.Context, ups []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) {
	r.updates <- ups
	return nil, nil
}

// waitSynced waits for a plugin to be synchronised and fully registered,
// and returns the updates it asked for.
func (r *testRuntime) waitSynced() map[string]string {
	r.t.Helper()
	select {
	case ups := <-r.synced:
		// The adaptation adds the plugin after the sync returns.
		r.nri.BlockPluginSync().Unblock()
		return cpusOf(ups)
	case <-time.After(waitTimeout):
		r.t.Fatal("plugin was not synchronised")
		return nil
	}
}

func (r *testRuntime) waitUpdates() map[string]string {
	r.t.Helper()
	select {
	case ups := <-r.updates:
		return cpusOf(ups)
	case <-time.After(waitTimeout):
		r.t.Fatal("no unsolicited container update")
		return nil
	}
}

// cpusOf maps container IDs to the cpuset.cpus of their updates.
func cpusOf(ups []*api.ContainerUpdate) map[string]string {
	out := map[string]string{}
	for _, u := range ups {
		if u == nil {
			continue
		}
		out[u.GetContainerId()] = u.GetLinux().GetResources().GetCpu().GetCpus()
	}
	return out
}

func pod(uid string) *api.PodSandbox {
	return &api.PodSandbox{Id: "sb-" + uid, Uid: uid, Name: uid, Namespace: "default"}
}

func nriContainer(id string, p *api.PodSandbox, state api.ContainerState, cpus string, claims ...string) *api.Container {
	c := &api.Container{
		Id:           id,
		PodSandboxId: p.GetId(),
		Name:         id,
		State:        state,
		Env:          []string{"PATH=/usr/bin"},
		Linux: &api.LinuxContainer{
			Resources: &api.LinuxResources{Cpu: &api.LinuxCPU{Cpus: cpus}},
		},
	}
	for _, uid := range claims {
		c.Env = append(c.Env, ClaimEnvPrefix+uid+"="+uid)
	}
	return c
}

// socketProxy stands between the plugin and the runtime's socket so that a
// test can cut every connection at once, as a runtime that dies does:
// stopping the adaptation library alone leaves plugin connections open.
type socketProxy struct {
	l       net.Listener
	backend string

	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, path, backend string) *socketProxy {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := &socketProxy{l: l, backend: backend}
	go p.serve()
	t.Cleanup(func() {
		_ = l.Close()
		p.cut()
	})
	return p
}

func (p *socketProxy) serve() {
	for {
		front, err := p.l.Accept()
		if err != nil {
			return // listener closed
		}
		back, err := net.Dial("unix", p.backend)
		if err != nil {
			_ = front.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, front, back)
		p.mu.Unlock()
		go pipe(front, back)
		go pipe(back, front)
	}
}

// pipe copies until either side goes, then closes both.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

// cut closes every connection made so far.
func (p *socketProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
