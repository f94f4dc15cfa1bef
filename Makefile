# hadron — build, test, demo, lint and benchmark from a fresh checkout.
#
# Everything is built from Go modules: the control-plane binaries (etcd,
# kube-apiserver, kube-controller-manager) come from the versions pinned in
# go.mod and are cached per go.sum outside the checkout, so later runs and
# other clones only relink hadron's own binaries.

SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 1

BIN_DIR := $(CURDIR)/_output/bin
CACHE_ROOT ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hadron
GOSUM_HASH := $(shell sha256sum go.sum 2>/dev/null | cut -c1-16)
CONTROL_PLANE_CACHE := $(CACHE_ROOT)/control-plane-$(GOSUM_HASH)
CONTROL_PLANE := etcd kube-apiserver kube-controller-manager
HADRON_BINS := hadron hadron-kubelet-plugin hadron-scheduler
# The embedded kubectl links Go's plugin package, which makes the linker ask
# for immediate symbol binding; NVML's symbols are resolved when the library
# is loaded at run time, so binding must stay lazy.
LDFLAGS := -s -w -extldflags=-Wl,-z,lazy
TEST_TIMEOUT ?= 30m
GOLANGCI_LINT := $(CURDIR)/_output/tools/golangci-lint

.PHONY: all build control-plane binaries test unit-test demo lint bench bench-scheduler clean

all: build

build: control-plane binaries

# Control-plane binaries: built once per go.sum, shared by every checkout.
control-plane: $(addprefix $(BIN_DIR)/,$(CONTROL_PLANE))

$(CONTROL_PLANE_CACHE)/etcd:
	@mkdir -p $(@D)
	@echo ">> building etcd (once per go.sum; cached in $(@D))"
	$(GO) build -ldflags='-s -w' -o $@.tmp go.etcd.io/etcd/server/v3 && mv $@.tmp $@

$(CONTROL_PLANE_CACHE)/kube-apiserver $(CONTROL_PLANE_CACHE)/kube-controller-manager:
	@mkdir -p $(@D)
	@echo ">> building $(@F) (once per go.sum; cached in $(@D))"
	$(GO) build -ldflags='-s -w' -o $@.tmp k8s.io/kubernetes/cmd/$(@F) && mv $@.tmp $@

$(BIN_DIR)/%: $(CONTROL_PLANE_CACHE)/%
	@mkdir -p $(@D)
	@ln -sf $< $@

binaries:
	@mkdir -p $(BIN_DIR)
	@echo ">> building $(HADRON_BINS)"
	$(GO) build -ldflags='$(LDFLAGS)' -o $(BIN_DIR)/ $(addprefix ./cmd/,$(HADRON_BINS))

# Unit and integration tests; the integration tests start the local control
# plane from $(BIN_DIR).
# Tests and the demo write tens of thousands of small files (simulated sysfs trees,
# sockets, checkpoints, CDI specs); on a disk-backed /tmp file creation
# dominates their run time, so they use tmpfs where the machine has one
# (directly under it: unix socket paths must stay short).
SCRATCH_TMPDIR ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})

# Test binaries that link kubectl (cmd/hadron) need lazy binding for the
# NVML symbols, as the binaries do.
TEST_LDFLAGS := -extldflags=-Wl,-z,lazy

test: build
	TMPDIR=$(SCRATCH_TMPDIR) HADRON_BIN_DIR=$(BIN_DIR) $(GO) test -ldflags='$(TEST_LDFLAGS)' -timeout $(TEST_TIMEOUT) -count=1 ./...

unit-test:
	TMPDIR=$(SCRATCH_TMPDIR) HADRON_SKIP_INTEGRATION=1 $(GO) test -ldflags='$(TEST_LDFLAGS)' -count=1 ./...

demo: build
	TMPDIR=$(SCRATCH_TMPDIR) $(BIN_DIR)/hadron demo --bin-dir $(BIN_DIR)

$(GOLANGCI_LINT): tools/go.mod tools/go.sum
	@mkdir -p $(@D)
	cd tools && $(GO) build -o $@ github.com/golangci/golangci-lint/v2/cmd/golangci-lint

lint: $(GOLANGCI_LINT)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

# Benchmarks: Go micro-benchmarks of the driver and shared packages, and
# the foundation timings on the local environment. The scheduler_perf
# comparison takes about ten minutes and has its own target,
# bench-scheduler. The report's first line is the command that produced it.
GO_BENCH_ARGS := -run '^$$' -skip '^BenchmarkSchedulingDRA$$' -bench . -benchmem ./bench/... ./driver/... ./pkg/...
bench: build
	@mkdir -p bench/results
	@echo "\$$ go test $(GO_BENCH_ARGS)" > bench/results/go-bench.txt
	set -o pipefail; TMPDIR=$(SCRATCH_TMPDIR) HADRON_SKIP_INTEGRATION=1 $(GO) test $(GO_BENCH_ARGS) \
		| grep -E '^(Benchmark|goos|goarch|pkg|cpu|ok|PASS|FAIL)' | tee -a bench/results/go-bench.txt
	_output/bin/hadron bench startup --bin-dir _output/bin --out bench/results/startup.md
	@echo ">> reports: bench/results/go-bench.txt bench/results/startup.md"

# kube-scheduler's scheduler_perf DRA workloads with the default profile
# and with hadron's, back to back (bench/schedperf). scheduler_perf starts
# an etcd from $(BIN_DIR) for every workload, with its data in TMPDIR:
# on tmpfs, disk syncs do not slow the API server and with it the
# measured scheduling rate.
bench-scheduler: build
	@mkdir -p bench/results
	TMPDIR=$(SCRATCH_TMPDIR) _output/bin/hadron bench scheduler-perf --bin-dir _output/bin --out bench/results/scheduler-perf.md
	@echo ">> report: bench/results/scheduler-perf.md"

clean:
	rm -rf _output
