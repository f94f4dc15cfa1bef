// Package numaaffinity is the NUMAAffinity score plugin: it prefers nodes
// where all of a pod's devices (GPUs, CPUs, NICs of all its unallocated
// claims) could be served from one NUMA node, and better still from one
// PCIe root, given the devices free there now.
//
// Per node, for each NUMA node (PCIe root) it counts how many of the pod's
// requested devices it could serve: for each request, the free devices
// there that pass the request's selectors and have room for it, up to the
// request's count. The best NUMA node's share of all requested devices is
// the NUMA fit, likewise the PCIe fit over the requests whose devices sit
// on a PCIe root (GPUs, NICs); the score is their blend, weighted by the
// pcieRootPercent argument, on 0-100. A pod that fits on one NUMA node
// scores 100 minus what a split PCIe root costs; partial fits get partial
// credit, so a node where 3 of 4 GPUs align beats one where only 2 do.
//
// Requests with allocation mode All, and requests no hadron device of the
// node matches, are not counted. The plugin judges feasibility on each
// node, not where the allocator will put the devices; on the node chosen,
// HadronDynamicResources' device order packs unconstrained requests onto
// one NUMA node, and a matchAttribute constraint makes alignment a must.
package numaaffinity
