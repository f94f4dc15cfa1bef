// Package trace reads GPU-cluster traces in the format of the openb traces
// (Alibaba clusterdata, cluster-trace-gpu-v2023: a node list and a pod
// list) and turns them into what the replay harness needs: a cluster of
// simulated machines, synthetic tenants with quotas, and a seeded
// sequence of arrivals and departures.
//
// # Format
//
// Both lists are comma-separated values with a header line naming the
// columns; columns may come in any order and unknown ones are ignored.
//
//	node list: sn,cpu_milli,memory_mib,gpu,model
//	pod list:  name,cpu_milli,memory_mib,num_gpu,gpu_milli
//	           [,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time]
//
// model is one of Models (P100, T4, V100M16, V100M32, A10, G2, G3) or
// empty on CPU-only nodes. gpu_milli is the share of one GPU a one-GPU
// pod takes (1000: all of it); multi-GPU pods take whole GPUs. gpu_spec
// lists the models a pod accepts, separated by '|'. Times are seconds.
// ReadNodes and ReadPods check every row strictly and report problems
// with the file name and line; ReadOptions choose between failing at the
// first malformed row and skipping malformed rows (returned for the
// report).
//
// # Synthesis
//
// BuildWorkload selects nodes (all, GPU nodes only, or a sample
// stratified by GPU model), builds each as a pkg/simhw machine
// (BuildMachine: the GPU model mapping, GPU and CPU power, sockets and
// NUMA nodes from the CPU count, GPUs split over NUMA nodes in pairs per
// PCIe root, an RDMA NIC per NUMA node with GPUs), gives tenants GPU
// quotas whose sum exceeds the cluster, and generates events in one of
// two modes: DemandMode (seeded shuffled arrivals until the arrived GPU
// demand reaches a target share of the cluster, no departures) or
// DeparturesMode (the trace's creation and deletion times). Every choice
// is stated, one per line, in Workload.Notes; the result depends only on
// the inputs and Options.Seed.
//
// The full traces live outside the repository (DefaultDir); Excerpt
// returns a small committed excerpt of them for tests and quick runs.
package trace
