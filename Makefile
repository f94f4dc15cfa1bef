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
# Helm, for the chart in deploy/helm: pinned in tools/helm/go.mod (a module
# of its own, so that its Kubernetes libraries need not agree with
# golangci-lint's), built once per version like the control plane.
HELM_SUM_HASH := $(shell cat tools/helm/go.mod tools/helm/go.sum 2>/dev/null | sha256sum | cut -c1-16)
HELM := $(CACHE_ROOT)/helm-$(HELM_SUM_HASH)/helm

.PHONY: all build control-plane binaries helm test unit-test demo lint bench bench-trace bench-scheduler clean

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

$(HELM):
	@mkdir -p $(@D)
	@echo ">> building helm (once per tools/helm/go.mod and go.sum; cached in $(@D))"
	cd tools/helm && $(GO) build -o $@.tmp helm.sh/helm/v4/cmd/helm && mv $@.tmp $@

helm: $(HELM)

# The chart tests (deploy/helm) run helm lint and template and install the
# rendered manifests on the local control plane.
test: build $(HELM)
	TMPDIR=$(SCRATCH_TMPDIR) HADRON_BIN_DIR=$(BIN_DIR) HADRON_HELM=$(HELM) $(GO) test -ldflags='$(TEST_LDFLAGS)' -timeout $(TEST_TIMEOUT) -count=1 ./...

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

# Benchmarks: Go micro-benchmarks of the drivers, the scheduler plugins and
# the shared packages, the foundation timings, the driver's prepare/unprepare latencies and memory,
# and the trace replay comparing hadron with the default scheduler and
# single-objective baselines on the full openb trace (bench-trace, which
# needs the traces next to the repository, see docs/benchmarks.md). The
# scheduler_perf comparison takes about ten minutes and has its own target,
# bench-scheduler. Every report names the command that produced it.
GO_BENCH_ARGS := -run '^$$' -skip '^BenchmarkSchedulingDRA$$' -bench . -benchmem ./bench/... ./driver/... ./scheduler-plugin/... ./pkg/...
bench: build
	@mkdir -p bench/results
	@echo "\$$ go test $(GO_BENCH_ARGS)" > bench/results/go-bench.txt
	set -o pipefail; TMPDIR=$(SCRATCH_TMPDIR) HADRON_SKIP_INTEGRATION=1 $(GO) test $(GO_BENCH_ARGS) \
		| grep -E '^(Benchmark|goos|goarch|pkg|cpu|ok|PASS|FAIL)' | tee -a bench/results/go-bench.txt
	TMPDIR=$(SCRATCH_TMPDIR) _output/bin/hadron bench startup --bin-dir _output/bin --out bench/results/startup.md
	TMPDIR=$(SCRATCH_TMPDIR) _output/bin/hadron bench driver --bin-dir _output/bin --out bench/results/driver.md
	$(MAKE) --no-print-directory bench-trace
	@echo ">> reports: bench/results/go-bench.txt bench/results/startup.md bench/results/driver.md bench/results/trace/report.md"

# The trace replay on its own: every policy on the full cluster of the
# openb GPU node list up to 100% arrived GPU demand, with the scheduler's
# adaptive share of nodes to score and two policies at a time (about an
# hour and three quarters on two cores); TRACE_ARGS come last and override
# (--nodes samples a smaller cluster, --target-demand 1.3 goes on to
# 130%).
TRACE_FULL_ARGS := --target-demand 1.0 --percentage-of-nodes-to-score 0 --concurrency 2
TRACE_ARGS ?=
bench-trace: build
	@mkdir -p bench/results/trace
	TMPDIR=$(SCRATCH_TMPDIR) _output/bin/hadron bench trace --bin-dir _output/bin --out bench/results/trace $(TRACE_FULL_ARGS) $(TRACE_ARGS)
	@echo ">> report: bench/results/trace/report.md"

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
