// Package fragmentation is the GPUFragmentation score plugin: Fragmentation
// Gradient Descent (FGD; Weng et al., "Beware of Fragmentation: Scheduling
// GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC
// 2023) for hadron's whole, shared and MIG-partitioned GPUs.
//
// A node's fragmentation with respect to a typical request m, F(m), is the
// free GPU capacity (milli-GPU) of the node that m cannot use:
//
//   - m asks for k whole GPUs: if fewer than k GPUs are entirely free
//     (whole-mode GPUs, or MIG-mode GPUs with nothing allocated), all free
//     capacity; otherwise the free capacity of GPUs m cannot take
//     (partly used ones, shared-mode ones);
//   - m asks for a share of d milli-GPU: the free capacity of every GPU
//     that is not a shared-mode GPU with at least d free (all of it when
//     no GPU has);
//   - m asks for a MIG partition with c compute slices: on MIG-mode GPUs,
//     the free memory slices that no feasible placement of such a
//     partition covers; on other GPUs, all free capacity.
//
// The node's expected fragmentation is F = sum over m of w(m) F(m), with
// the weights of the targetWorkload argument normalised to 1. The score of
// a node is -(F after placing the pod - F before): placements that
// fragment least, or even reduce fragmentation by filling a fragment, win.
// Where the pod's devices land is estimated as the other hadron plugins
// do, in HadronDynamicResources' device order. Scores are normalised over
// the nodes (least added fragmentation 100, most 0).
//
// As in the paper, a typical request may name the CPU and memory it asks
// of its node (cpuMilli, memoryMiB): where the node's free CPU or memory
// cannot take it, all the node's free GPU capacity is a fragment for it,
// so placements that strand GPUs beside a full CPU count as fragmenting.
package fragmentation
