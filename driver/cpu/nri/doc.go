// Package nri enforces the exclusive CPUs of cpu.hadron.dev claims on a
// node through the container runtime's NRI (Node Resource Interface).
//
// The kubelet's CPU manager does not know about CPUs handed out by a DRA
// driver, so nothing else would pin a claim's container to its CPUs or keep
// other containers off them. This package is an NRI plugin that does both:
//
//   - a container that holds prepared claims gets the union of their CPUs
//     as its cpuset.cpus;
//   - every other container gets the shared pool, the online CPUs minus
//     every CPU held by a prepared claim, so it is kept off exclusive CPUs
//     and spreads again when a claim is unprepared.
//
// The CPU driver puts HADRON_CPU_CLAIM_<uid>=<uid> into a claim's
// containers through CDI. That variable is only a key: a pod can set any
// environment variable, so the plugin takes the CPUs from the driver's own
// state (Assignments) and honours a claim only when the driver reserved it
// for the container's pod. The check is per pod, not per container: a
// sibling container of the same pod that copies the variable shares the
// claim's CPUs, which stays inside the pod's own allocation.
//
// cpuset.mems is left alone: restricting memory to the claim's NUMA nodes
// would need the CPU-to-node map and would break on memory-less nodes, and
// the kernel already prefers memory local to the CPUs a task runs on.
//
// # Runtime restarts
//
// NRI drops the connection when the runtime stops. Run then reconnects
// with a fresh plugin registration (backing off up to 30s) until its
// context ends; the runtime synchronises a newly registered plugin with
// every existing container, and the plugin answers with the cpuset each of
// them must have, so nothing is lost while it was away. The same happens
// when the driver itself restarts: Assignments is rebuilt from the
// checkpoint and the first synchronisation re-applies it.
//
// # Ordering
//
// Unsolicited updates (sent when the driver's state changes) must not be
// overtaken by older updates a synchronisation returned. containerd
// guarantees this by applying synchronisation results and plugin updates
// under one lock; a runtime that does not could briefly leave a shared
// container on CPUs claimed during the plugin's (re)registration, until the
// next synchronisation.
package nri
