// Package tenantquota is the TenantQuota scheduler plugin: per-tenant
// limits on the devices a tenant's ResourceClaims are allocated, read
// from quota.hadron.dev/<resource> labels on Capsule Tenants (see
// pkg/quota for the labels and how allocations are priced).
//
// A pod's tenant is the capsule.clastix.io/tenant label of its namespace;
// if the namespace is owned by a Tenant, owner and label must agree.
// Usage is the sum over all of the tenant's namespaces of the allocated
// claims (from the scheduler's ResourceClaim informer, keyed by claim
// UID so that a shared claim counts once) and the allocations reserved
// by pods still in flight.
//
// Never overshooting rests on the scheduler running PreFilter, Filter,
// Score and Reserve for one pod at a time, for all profiles: Reserve,
// placed after DynamicResources, prices the allocations DynamicResources
// has just put in flight and checks and records them under one lock.
// Every profile must enable the plugin, and all of a scheduler's
// profiles share one ledger. A reservation stays counted until the
// informer shows the allocation, or until Unreserve if the allocation was
// never written. After a restart the ledger starts empty: allocations the
// old process wrote arrive through the informer, and pods of tenant
// namespaces are held ("quota caches not synced") until the informers
// have their initial lists.
//
// Pods are held (never admitted unchecked) while their tenant does not
// exist, its quota labels are malformed (also reported as an Event on the
// Tenant), or the namespace's label and owner disagree. Held and
// rejected pods are retried through queueing hints (claims released,
// Tenants relaxed) and through activation by the plugin itself when its
// own informers or Unreserve release usage.
//
// The leading scheduler publishes each tenant's usage and limits into a
// ConfigMap (default hadron-quota) in each of its namespaces.
package tenantquota
