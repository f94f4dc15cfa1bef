package reclaim

import (
	"fmt"
	"time"

	"github.com/hadron-sched/hadron/pkg/workspace"
)

// settings are a workspace's reclaim annotations, parsed.
type settings struct {
	// timeout is the longest idle time; 0 means never reclaimed.
	timeout time.Duration
	signal  string
	// lastActivity is the recorded activity; zero when none was recorded.
	lastActivity time.Time
}

// parseSettings reads the reclaim annotations of a workspace pod. A
// missing timeout (or "0") means never reclaimed; a missing signal means
// the heartbeat. Any value it cannot read is an error naming the
// annotation and the expected form.
func parseSettings(annotations map[string]string) (settings, error) {
	var s settings
	raw, ok := annotations[workspace.AnnotationIdleTimeout]
	if !ok || raw == "" || raw == "0" {
		return s, nil
	}
	timeout, err := time.ParseDuration(raw)
	if err != nil {
		return s, fmt.Errorf("annotation %s=%q is not a duration (use for example 2h or 30m; 0 disables reclaim)", workspace.AnnotationIdleTimeout, raw)
	}
	if timeout < 0 {
		return s, fmt.Errorf("annotation %s=%q is negative (use a positive duration; 0 disables reclaim)", workspace.AnnotationIdleTimeout, raw)
	}
	s.timeout = timeout
	s.signal = workspace.SignalHeartbeat
	if v, ok := annotations[workspace.AnnotationActivitySignal]; ok && v != "" {
		switch v {
		case workspace.SignalHeartbeat, workspace.SignalGPUUtilization:
			s.signal = v
		default:
			return s, fmt.Errorf("annotation %s=%q is not a known signal (use %s or %s)",
				workspace.AnnotationActivitySignal, v, workspace.SignalHeartbeat, workspace.SignalGPUUtilization)
		}
	}
	if v, ok := annotations[workspace.AnnotationLastActivity]; ok && v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return s, fmt.Errorf("annotation %s=%q is not an RFC 3339 time (for example 2026-01-02T15:04:05Z)", workspace.AnnotationLastActivity, v)
		}
		s.lastActivity = t
	}
	return s, nil
}
