// Package model is the scheduler's picture of hadron devices on each node:
// what every GPU, MIG partition, shared GPU, CPU NUMA node and NIC is, what
// of it is allocated (including claims the scheduler has in flight), how a
// node's NUMA nodes rank for packing, and in which order hadron prefers its
// devices.
//
// One Source per DRA manager builds a Snapshot per pod from the manager's
// ResourceSlices and allocated state. Nodes whose slices and allocations
// did not change since the last snapshot are reused, so a snapshot costs
// one pass over the slices and the allocated devices plus the rebuild of
// the nodes that changed (usually the one node the previous pod went to).
//
// The HadronDynamicResources plugin shows the allocator each hadron pool
// in the preference order of the snapshot, and the score plugins evaluate
// the same snapshot, so that the node a score favours and the devices the
// allocator then picks there agree.
package model
