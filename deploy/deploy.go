// Package deploy embeds the manifests a cluster admin installs, so that the
// local cluster, the tests and the CLI apply exactly the files shipped here.
package deploy

import "embed"

// DeviceClasses holds one DeviceClass per file.
//
//go:embed deviceclasses/*.yaml
var DeviceClasses embed.FS

// SchedulerConfig is hadron-scheduler's KubeSchedulerConfiguration.
//
//go:embed scheduler/config.yaml
var SchedulerConfig []byte

// Examples holds the example claims and pods.
//
//go:embed examples/*.yaml
var Examples embed.FS

// CRDs holds CustomResourceDefinitions for clusters that lack them: a
// minimal Capsule Tenant (capsule.clastix.io/v1beta2) for TenantQuota.
//
//go:embed crds/*.yaml
var CRDs embed.FS

// RBAC holds the extra rights of hadron-scheduler's plugins.
//
//go:embed rbac/*.yaml
var RBAC embed.FS

// WorkspaceProfiles are the built-in research-workspace profiles, the one
// source of the CLI's profiles, the JupyterHub profile list and the docs.
//
//go:embed workspaces/profiles.yaml
var WorkspaceProfiles []byte

// WorkspaceRBAC holds the Role a tenant user needs in their namespace
// and the read access to the admin's profile ConfigMap.
//
//go:embed workspaces/rbac/*.yaml
var WorkspaceRBAC embed.FS

// JupyterHub holds the generated Zero-to-JupyterHub values and the
// ResourceClaimTemplates the hub's namespace needs.
//
//go:embed jupyterhub/*.yaml
var JupyterHub embed.FS
