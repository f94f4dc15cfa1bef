//go:build tools

// Package tools pins the versions of the development tools used by the
// Makefile (see the lint target); it is never built into hadron itself.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)
