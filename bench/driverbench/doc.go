// Package driverbench measures hadron's kubelet plugin on simulated
// hardware (pkg/simhw): how long discovery and the ResourceSlice build
// take for each built-in machine, how long the real hadron-kubelet-plugin
// binary takes to publish its pools to a real kube-apiserver, the latency
// of NodePrepareResources and NodeUnprepareResources called through the
// kubelet's own DRA plugin manager over gRPC, and the binary's memory.
//
// The in-process parts (discovery, slice build) are also Go benchmarks
// (BenchmarkDiscovery, BenchmarkSliceBuild), so that `go test -bench`
// tracks them without a control plane.
package driverbench
