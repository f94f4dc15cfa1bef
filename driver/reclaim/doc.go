// Package reclaim stops research workspaces that sit idle on GPUs. It runs
// in hadron's kubelet plugin, once per node, and looks only at the
// workspace pods of its node (pods labelled workspace.hadron.dev/name).
//
// A workspace says, in annotations, how long it may stay idle and what
// counts as activity: a heartbeat the workspace or its proxy writes, or
// the utilisation of the GPUs prepared for its claims, which the plugin
// reads through NVML (and then writes as the heartbeat itself, so that the
// owner sees the activity). A workspace idle longer than its timeout, idle
// counted from its last activity or else its start, is deleted; its
// claims are then released by the usual flow. The pod gets an Event and
// the workspace's Service an annotation saying when and why, so that the
// owner still sees what happened once the pod is gone.
//
// Bad input never stops a workspace: an annotation that cannot be read is
// reported (log and Event) and the workspace is left alone.
package reclaim
