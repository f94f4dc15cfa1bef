package reclaim

import (
	"testing"
	"time"

	"github.com/hadron-sched/hadron/pkg/workspace"
)

// FuzzParseSettings: annotations are written by users; no value may
// panic, and whatever is accepted is a usable setting.
func FuzzParseSettings(f *testing.F) {
	f.Add("2h", "heartbeat", "2026-01-02T15:04:05Z")
	f.Add("0", "", "")
	f.Add("-5m", "gpu-utilization", "yesterday")
	f.Add("1e9h", "keyboard", "2026-13-40T99:99:99Z")
	f.Fuzz(func(t *testing.T, timeout, signal, last string) {
		s, err := parseSettings(map[string]string{
			workspace.AnnotationIdleTimeout:    timeout,
			workspace.AnnotationActivitySignal: signal,
			workspace.AnnotationLastActivity:   last,
		})
		if err != nil {
			return
		}
		if s.timeout < 0 {
			t.Errorf("accepted negative timeout %s from %q", s.timeout, timeout)
		}
		if s.timeout > 0 && s.signal != SignalHeartbeat && s.signal != SignalGPUUtilization {
			t.Errorf("accepted signal %q from %q", s.signal, signal)
		}
	})
}

func TestParseSettingsDefaults(t *testing.T) {
	s, err := parseSettings(map[string]string{workspace.AnnotationIdleTimeout: "90m"})
	if err != nil || s.timeout != 90*time.Minute || s.signal != SignalHeartbeat || !s.lastActivity.IsZero() {
		t.Errorf("parseSettings(90m) = %+v, %v; want 90m, heartbeat, no activity", s, err)
	}
}
