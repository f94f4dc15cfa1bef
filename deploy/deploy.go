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
