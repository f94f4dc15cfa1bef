// Package workspace turns named research-workspace profiles into pods
// with ResourceClaims, and reads workspaces back from the cluster.
package workspace

// Labels and annotations that mark an ordinary pod (and its Service) as a
// workspace. The CLI, the JupyterHub profiles and the idle reclaimer in
// the kubelet plugin all read these names, so they live in one place.
const (
	// LabelWorkspace holds the workspace's name on its pod, its claims and
	// its Service.
	LabelWorkspace = "workspace.hadron.dev/name"
	// LabelProfile holds the profile the workspace was created from.
	LabelProfile = "workspace.hadron.dev/profile"

	// AnnotationIdleTimeout is the longest the workspace may stay idle
	// (a Go duration such as "2h"); absent or "0" means never reclaimed.
	AnnotationIdleTimeout = "workspace.hadron.dev/idle-timeout"
	// AnnotationActivitySignal says what counts as activity: "heartbeat"
	// (AnnotationLastActivity, written by the workspace or its proxy) or
	// "gpu-utilization" (the kubelet plugin reads the GPUs' utilisation).
	AnnotationActivitySignal = "workspace.hadron.dev/activity-signal"
	// AnnotationLastActivity is the RFC 3339 time of the last activity:
	// written by the workspace for the heartbeat signal, and by the
	// kubelet plugin when it sees the workspace's GPUs busy.
	AnnotationLastActivity = "workspace.hadron.dev/last-activity"
	// AnnotationReclaimed is set on the workspace's Service when the pod
	// was stopped for being idle: the RFC 3339 time and the reason, so
	// that the owner still sees what happened after the pod is gone.
	AnnotationReclaimed = "workspace.hadron.dev/reclaimed"
)

// Activity signals accepted in AnnotationActivitySignal.
const (
	SignalHeartbeat      = "heartbeat"
	SignalGPUUtilization = "gpu-utilization"
)
