package simhw

import (
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// Health events, as NVML delivers them: a consumer creates an event set,
// registers devices with it for some event types, and waits on it; the
// simulation raises events when a test injects an error (NVML.InjectXID,
// InjectMIGXID, InjectECCError). Injection never blocks: every set keeps
// an unbounded queue, because a health event silently lost would make a
// driver test pass for the wrong reason.

// simulatedEvents are the event types the simulation can raise, which is
// also what GetSupportedEventTypes reports: claiming more would let a
// consumer wait for events that can never come.
const simulatedEvents = uint64(nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError | nvml.EventTypeSingleBitEccError)

// eventRegistry records which event sets a GPU delivers to, and for which
// event types.
type eventRegistry struct {
	mu   sync.Mutex
	sets map[*eventSet]uint64
}

// eventSet is a simulated nvmlEventSet_t. Lock order: a GPU's registry
// lock may be held while taking a set's lock, never the reverse.
type eventSet struct {
	mock.EventSet
	// ready holds a token while events may be queued; its capacity of one
	// makes signalling non-blocking.
	ready chan struct{}
	// done is closed by Free, waking every waiter.
	done chan struct{}

	mu      sync.Mutex
	queue   []nvml.EventData
	freed   bool
	devices []*simGPU // registered with, for Free
}

var _ nvml.EventSet = (*eventSet)(nil)

func newEventSet() *eventSet {
	s := &eventSet{ready: make(chan struct{}, 1), done: make(chan struct{})}
	// Wait_v3, context and operational-event calls are newer APIs the
	// simulation does not model; they answer ERROR_NOT_SUPPORTED.
	completeMock(&s.EventSet, false)
	return s
}

// wireEvents installs event registration on a GPU's mock device.
func (n *NVML) wireEvents(g *simGPU) {
	g.events.sets = map[*eventSet]uint64{}
	g.dev.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
		return simulatedEvents, nvml.SUCCESS
	}
	g.dev.RegisterEventsFunc = func(types uint64, set nvml.EventSet) nvml.Return {
		return g.registerEvents(types, set)
	}
}

func (g *simGPU) registerEvents(types uint64, set nvml.EventSet) nvml.Return {
	s, ok := set.(*eventSet)
	if !ok || s == nil {
		// A nil set, or one that did not come from this simulation.
		return nvml.ERROR_INVALID_ARGUMENT
	}
	// NVML registers nothing when any requested type is unsupported.
	if types&^simulatedEvents != 0 {
		return nvml.ERROR_NOT_SUPPORTED
	}
	if types == 0 {
		return nvml.SUCCESS
	}
	g.events.mu.Lock()
	defer g.events.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return nvml.ERROR_INVALID_ARGUMENT
	}
	if _, known := g.events.sets[s]; !known {
		s.devices = append(s.devices, g)
	}
	// Registering again adds types, as with NVML.
	g.events.sets[s] |= types
	return nvml.SUCCESS
}

// deliverXID raises an XID critical error on the GPU, or on the compute
// instance ci of GPU instance gi (wholeDevice for both: the GPU itself).
func (g *simGPU) deliverXID(xid uint64, gi, ci uint32) {
	g.deliver(nvml.EventData{
		Device:            g.dev,
		EventType:         nvml.EventTypeXidCriticalError,
		EventData:         xid,
		GpuInstanceId:     gi,
		ComputeInstanceId: ci,
	})
}

// deliver queues an event on every set registered for its type.
func (g *simGPU) deliver(ev nvml.EventData) {
	g.events.mu.Lock()
	var targets []*eventSet
	for s, types := range g.events.sets {
		if types&ev.EventType != 0 {
			targets = append(targets, s)
		}
	}
	g.events.mu.Unlock()
	for _, s := range targets {
		s.push(ev)
	}
}

func (s *eventSet) push(ev nvml.EventData) {
	s.mu.Lock()
	if s.freed {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
}

// signal leaves a token for a waiter unless one is already there.
func (s *eventSet) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// pop takes the oldest event, if any; ret is ERROR_INVALID_ARGUMENT once
// the set is freed.
func (s *eventSet) pop() (ev nvml.EventData, ok bool, ret nvml.Return) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freed {
		return nvml.EventData{}, false, nvml.ERROR_INVALID_ARGUMENT
	}
	if len(s.queue) == 0 {
		return nvml.EventData{}, false, nvml.SUCCESS
	}
	ev = s.queue[0]
	s.queue[0] = nvml.EventData{} // drop the device reference
	s.queue = s.queue[1:]
	if len(s.queue) > 0 {
		// Several goroutines may wait on one set; pass the token on.
		s.signal()
	}
	return ev, true, nvml.SUCCESS
}

// Wait returns the oldest queued event, or waits up to timeoutms
// milliseconds for one (ERROR_TIMEOUT). A freed set answers
// ERROR_INVALID_ARGUMENT, also to a Wait in progress.
func (s *eventSet) Wait(timeoutms uint32) (nvml.EventData, nvml.Return) {
	var expired <-chan time.Time
	for {
		ev, ok, ret := s.pop()
		if ret != nvml.SUCCESS || ok {
			return ev, ret
		}
		if expired == nil {
			if timeoutms == 0 {
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
			t := time.NewTimer(time.Duration(timeoutms) * time.Millisecond)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-s.ready:
		case <-s.done:
		case <-expired:
			// An event may have arrived together with the deadline.
			if ev, ok, ret := s.pop(); ret != nvml.SUCCESS || ok {
				return ev, ret
			}
			return nvml.EventData{}, nvml.ERROR_TIMEOUT
		}
	}
}

// Free releases the set: devices stop delivering to it, queued events are
// dropped, and waiters return. Freeing twice is ERROR_INVALID_ARGUMENT.
func (s *eventSet) Free() nvml.Return {
	s.mu.Lock()
	if s.freed {
		s.mu.Unlock()
		return nvml.ERROR_INVALID_ARGUMENT
	}
	s.freed = true
	s.queue = nil
	devices := s.devices
	s.devices = nil
	close(s.done)
	s.mu.Unlock()
	for _, g := range devices {
		g.events.mu.Lock()
		delete(g.events.sets, s)
		g.events.mu.Unlock()
	}
	return nvml.SUCCESS
}
