// Package quota is hadron's per-tenant device quota: the quota labels a
// cluster admin puts on a Tenant, and what an allocated ResourceClaim
// costs against them.
//
// A Tenant limits a resource with a label quota.hadron.dev/<resource>:
//
//	quota.hadron.dev/gpus          whole GPUs                       integer, e.g. "4"
//	quota.hadron.dev/gpu-memory    GPU memory, any kind of GPU      quantity, e.g. "80Gi"
//	quota.hadron.dev/gpu-milli     GPU compute, 1000 = one GPU      integer, e.g. "2500"
//	quota.hadron.dev/mig-<profile> MIG partitions of one profile    integer, e.g. mig-1g.10gb: "7"
//	quota.hadron.dev/cpus          exclusive CPUs (hardware threads) integer, e.g. "64"
//	quota.hadron.dev/nics          RDMA NICs                         integer, e.g. "2"
//
// A resource without a label is not limited; "0" forbids it. MIG profile
// names become label-key suffixes with every character other than a
// letter, digit, '-', '_' or '.' replaced by '_' (NVIDIA's "1g.10gb+me"
// is mig-1g.10gb_me).
//
// Price turns an allocation into a List of these resources from the
// devices' ResourceSlice attributes and capacities; Demand gives, from a
// claim's spec alone, a lower bound of what its allocation will cost.
package quota
