// Package draview is the HadronDynamicResources scheduler plugin: the
// upstream DynamicResources plugin, unchanged, shown hadron's devices in
// hadron's order of preference.
//
// The upstream structured allocator takes, on each node, the first devices
// that satisfy a pod's claims in the order its ResourceSlices list them.
// The plugin's factory builds the upstream plugin on a framework handle
// whose DRA manager lists ResourceSlices through a view: within each
// node-local pool of gpu.hadron.dev, cpu.hadron.dev and nic.hadron.dev,
// the devices are stably re-sorted by preference (partly used NUMA nodes
// first, active GPUs before idle ones for shares and MIG partitions with
// the best fit first, CPUs and NICs by the same NUMA rank) and refilled
// into the same slices at their original sizes. Nothing else changes:
// the set of devices, the slices, their counts and other drivers' slices
// are what the informers hold, so what is feasible is unchanged and only
// which feasible devices come first differs. Claim status writes,
// in-flight tracking, binding conditions, device taints, extended
// resources, PostFilter deallocation and pod groups are the embedded
// upstream plugin's.
//
// One shortcut is added in Filter: a node that the same model shows
// cannot serve one of the pod's requests, whatever the allocator would
// pick (too few unallocated matching devices, too little capacity left
// on them), is rejected with the upstream message before the allocator
// searches it. The check only ever passes doubtful nodes on, so the
// feasible nodes and the placements are the upstream plugin's; near a
// full cluster it spares most of a failing pod's cost.
//
// docs/scheduler.md explains why a view and not a fork, the allocator-order
// contract the view relies on, and how contract_test.go guards it.
//
// The plugin must replace DynamicResources in a profile, never run beside
// it: both use the same cycle-state key and pod indexer name.
package draview
