//go:build deps

// This file is never built. It names the main packages that the
// Makefile builds from this module's dependencies (the local control
// plane's etcd, kube-apiserver and kube-controller-manager), so that
// `go mod tidy` keeps their modules at the versions go.mod pins.
package hadron

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
