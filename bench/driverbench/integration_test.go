package driverbench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// TestRunReportsEverything runs the whole benchmark with tiny sizes
// against a local control plane and the built plugin binary, and checks
// that every measurement made it into the report.
func TestRunReportsEverything(t *testing.T) {
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v == "1" || v == "true" {
		t.Skip("HADRON_SKIP_INTEGRATION set")
	}
	const claims = 3
	var progress bytes.Buffer
	ctx := klog.NewContext(context.Background(), klog.Background())
	res, err := Run(ctx, Options{
		// One target per claim kind's node; two starts so that the plugin
		// is also restarted.
		Targets:    "dgxh100,dgxa100:mig,dgxh100:shared",
		Iterations: 2,
		Publish:    2,
		Claims:     claims,
		Progress:   &progress,
	})
	if err != nil {
		t.Fatalf("run (build the binaries with `make build` first): %v\nprogress:\n%s", err, progress.String())
	}
	if len(res.InProcess) != 3 || len(res.Publish) != 3 || len(res.Memory) != 3 {
		t.Fatalf("measured %d in-process targets, %d publish targets, %d memory targets; want 3 each", len(res.InProcess), len(res.Publish), len(res.Memory))
	}
	for _, p := range res.Publish {
		if len(p.Samples) != 2 || len(p.Pools) != len(drivers) {
			t.Errorf("publish %s: %d samples, pools %+v", p.Target, len(p.Samples), p.Pools)
		}
	}
	if len(res.Prepare) != len(claimKinds()) || len(res.Skipped) != 0 {
		t.Fatalf("prepared %d claim kinds, skipped %v; want all %d", len(res.Prepare), res.Skipped, len(claimKinds()))
	}
	for _, p := range res.Prepare {
		if len(p.Prepare) != claims || len(p.Unprepare) != claims || p.Device == "" {
			t.Errorf("%s: %d prepares, %d unprepares of device %q; want %d each", p.Kind, len(p.Prepare), len(p.Unprepare), p.Device, claims)
		}
	}
	for _, m := range res.Memory {
		if m.AfterPublish.RSS <= 0 || m.AfterLoad == nil || m.AfterLoad.HWM < m.AfterLoad.RSS || m.Claims == 0 {
			t.Errorf("memory %s: %+v after publish, %+v after %d claims", m.Target, m.AfterPublish, m.AfterLoad, m.Claims)
		}
	}

	var report bytes.Buffer
	res.Report(&report, "hadron bench driver --claims 3", "abc1234")
	text := report.String()
	for _, want := range []string{"## Discovery", "## ResourceSlice build", "## ResourceSlice publish", "## Prepare and unprepare",
		"## Memory of hadron-kubelet-plugin", "## Comparison", "hadron, this run: prepare p50", "dra-example-driver"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, k := range claimKinds() {
		if !strings.Contains(text, "| "+k.Name+" | "+k.Target+" |") {
			t.Errorf("report has no row for %s on %s", k.Name, k.Target)
		}
	}
	if host, err := os.Hostname(); err == nil && host != "" && strings.Contains(text, host) {
		t.Errorf("report names the host %q", host)
	}
	if t.Failed() {
		t.Logf("report:\n%s", text)
	}
}
