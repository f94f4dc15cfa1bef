package nri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	"k8s.io/klog/v2"
)

// Defaults for Options.
const (
	DefaultSocketPath    = api.DefaultSocketPath
	DefaultPluginName    = "hadron-cpu"
	DefaultPluginIndex   = "90"
	DefaultRetryInterval = time.Second

	// maxRetryInterval caps the reconnect back-off: a runtime that is down
	// for long should still be picked up within half a minute.
	maxRetryInterval = 30 * time.Second
)

// Options configure the plugin. Zero values mean the defaults.
type Options struct {
	// SocketPath is the runtime's NRI socket.
	SocketPath string
	// PluginName and PluginIndex identify the plugin to the runtime. The
	// index (two digits) orders plugins: a later one sees the earlier
	// ones' adjustments, and two setting cpuset.cpus fail the container.
	PluginName  string
	PluginIndex string
	// RetryInterval is the first delay before reconnecting after the
	// runtime dropped the connection; it doubles up to 30s.
	RetryInterval time.Duration
}

// Plugin is the NRI plugin. Create it with New and start it with Run.
type Plugin struct {
	assignments Assignments
	opts        Options
	logger      klog.Logger

	mu     sync.Mutex
	state  *state
	stub   stub.Stub // the current connection; nil while disconnected
	gen    uint64    // generation of the current (or next) connection
	synced bool      // the current connection has been synchronised
}

// New validates the options and returns a plugin serving assignments.
func New(assignments Assignments, opts Options) (*Plugin, error) {
	if assignments == nil {
		return nil, errors.New("NRI plugin needs the CPU driver's assignments")
	}
	if opts.SocketPath == "" {
		opts.SocketPath = DefaultSocketPath
	}
	if opts.PluginName == "" {
		opts.PluginName = DefaultPluginName
	}
	if opts.PluginIndex == "" {
		opts.PluginIndex = DefaultPluginIndex
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if err := api.CheckPluginName(opts.PluginName); err != nil {
		return nil, fmt.Errorf("NRI plugin name: %w", err)
	}
	if err := api.CheckPluginIndex(opts.PluginIndex); err != nil {
		return nil, fmt.Errorf("NRI plugin index: %w", err)
	}
	return &Plugin{
		assignments: assignments,
		opts:        opts,
		logger:      klog.Background().WithName("nri"),
		state:       newState(),
	}, nil
}

// Run creates a plugin and runs it; see Plugin.Run.
func Run(ctx context.Context, assignments Assignments, opts Options) error {
	p, err := New(assignments, opts)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// Run connects to the runtime and enforces cpusets until ctx is done, then
// returns nil. It returns an error at once when the first connection
// fails; errors.Is(err, fs.ErrNotExist) means the runtime has no NRI
// socket (NRI disabled, or another path). Once connected, a dropped
// connection (runtime restart) is retried with back-off and never ends Run.
// Run must be called at most once.
func (p *Plugin) Run(ctx context.Context) error {
	p.logger = klog.FromContext(ctx).WithName("nri")
	if _, err := os.Stat(p.opts.SocketPath); err != nil {
		return fmt.Errorf("NRI socket: %w", err)
	}
	closed, err := p.connect(ctx)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watch(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
		p.disconnect()
	}()

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			p.disconnect()
			p.logger.Info("Lost the NRI connection to the container runtime; reconnecting")
			if closed, err = p.reconnect(ctx); err != nil {
				return nil // ctx is done
			}
		}
	}
}

// connect registers a fresh stub with the runtime. The returned channel is
// closed when that connection goes down. Every connection gets its own
// stub and generation, so that nothing from a dropped one leaks into the
// next.
func (p *Plugin) connect(ctx context.Context) (<-chan struct{}, error) {
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.synced = false
	p.mu.Unlock()

	closed := make(chan struct{})
	var once sync.Once
	s, err := stub.New(handler{p: p, gen: gen},
		stub.WithPluginName(p.opts.PluginName),
		stub.WithPluginIdx(p.opts.PluginIndex),
		stub.WithSocketPath(p.opts.SocketPath),
		stub.WithLogger(nriLogger{p.logger}),
		stub.WithOnClose(func() { once.Do(func() { close(closed) }) }),
	)
	if err != nil {
		return nil, fmt.Errorf("creating NRI plugin: %w", err)
	}
	// Start returns once the runtime has configured the plugin; the
	// runtime synchronises it right after, through handler.Synchronize.
	if err := s.Start(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("registering NRI plugin %s-%s at %s: %w",
			p.opts.PluginIndex, p.opts.PluginName, p.opts.SocketPath, err)
	}
	p.mu.Lock()
	p.stub = s
	p.mu.Unlock()
	p.logger.Info("Connected to the container runtime through NRI", "socket", p.opts.SocketPath,
		"plugin", p.opts.PluginIndex+"-"+p.opts.PluginName)
	return closed, nil
}

// disconnect drops the current connection, if any.
func (p *Plugin) disconnect() {
	p.mu.Lock()
	s := p.stub
	p.stub = nil
	p.synced = false
	p.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// reconnect retries connect with back-off until it succeeds or ctx ends.
// The runtime synchronises the new registration, which re-applies every
// container's cpuset, so nothing that changed meanwhile is lost.
func (p *Plugin) reconnect(ctx context.Context) (<-chan struct{}, error) {
	delay := p.opts.RetryInterval
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		closed, err := p.connect(ctx)
		if err == nil {
			return closed, nil
		}
		p.logger.V(2).Info("Reconnecting to the container runtime failed", "err", err, "retryIn", delay)
		delay = min(2*delay, maxRetryInterval)
		timer.Reset(delay)
	}
}

// watch pushes the driver's changes to the runtime until ctx is done.
func (p *Plugin) watch(ctx context.Context) {
	changes := p.assignments.Changes()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			p.refresh()
		}
	}
}

// refresh sends unsolicited updates for every container whose cpuset no
// longer matches the driver's state, e.g. shared containers growing back
// onto the CPUs of an unprepared claim.
func (p *Plugin) refresh() {
	p.mu.Lock()
	s := p.stub
	if s == nil || !p.synced {
		p.mu.Unlock()
		// The synchronisation after (re)connecting reads the state afresh.
		p.logger.V(4).Info("Not connected to the container runtime; deferring cpuset updates")
		return
	}
	ups := p.state.reconcile(newView(p.assignments))
	p.mu.Unlock()
	if len(ups) == 0 {
		return
	}

	// Sent without holding mu: the runtime may be waiting for this plugin's
	// answer to a request (containerd holds one lock across both), and
	// answering needs mu.
	failed, err := s.UpdateContainers(toNRI(ups, false))
	var ids []string
	switch {
	case err != nil:
		p.logger.Error(err, "Updating container cpusets failed", "containers", len(ups))
		for _, u := range ups {
			ids = append(ids, u.id)
		}
	case len(failed) > 0:
		p.logger.Info("Container runtime could not update some cpusets", "failed", len(failed), "containers", len(ups))
		for _, u := range failed {
			ids = append(ids, u.GetContainerId())
		}
	default:
		p.logger.V(2).Info("Updated container cpusets", "containers", len(ups))
		return
	}
	// Not applied: the next reconcile (create, change or synchronisation)
	// sends them again.
	p.mu.Lock()
	p.state.unknown(ids...)
	p.mu.Unlock()
}
