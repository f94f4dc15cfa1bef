package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hadron-sched/hadron/bench/trace"
)

// benchTraceCommand returns the command's options with args parsed into
// them, and the command with its output captured.
func benchTraceCommand(t *testing.T, args ...string) (*benchTraceOptions, *cobra.Command, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	o := &benchTraceOptions{}
	cmd := &cobra.Command{Use: "trace"}
	o.addFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	return o, cmd, &stdout, &stderr
}

func TestBenchTraceDefaults(t *testing.T) {
	_, cmd, _, _ := benchTraceCommand(t)
	for flag, want := range map[string]string{
		"trace-dir":                    "../shared/traces/alibaba-gpu-v2023",
		"node-list":                    "openb_node_list_gpu_node.csv",
		"pod-list":                     "openb_pod_list_default.csv",
		"mode":                         "demand",
		"target-demand":                "1.3",
		"on-malformed":                 "skip",
		"policies":                     "[]",
		"concurrency":                  "1",
		"percentage-of-nodes-to-score": "100",
	} {
		if got := cmd.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("--%s defaults to %q, want %q", flag, got, want)
		}
	}
}

func TestBenchTraceChoices(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults"},
		{name: "departures, reject", args: []string{"--mode", "departures", "--on-malformed", "reject"}},
		{name: "unknown mode", args: []string{"--mode", "fast"}, wantErr: `--mode "fast"`},
		{name: "unknown malformed handling", args: []string{"--on-malformed", "ignore"}, wantErr: `--on-malformed "ignore"`},
		{name: "no demand", args: []string{"--target-demand", "0"}, wantErr: "--target-demand 0"},
		{name: "adaptive nodes to score, two at a time", args: []string{"--percentage-of-nodes-to-score", "0", "--concurrency", "2"}},
		{name: "over 100% of nodes", args: []string{"--percentage-of-nodes-to-score", "101"}, wantErr: "--percentage-of-nodes-to-score 101"},
		{name: "negative share of nodes", args: []string{"--percentage-of-nodes-to-score", "-1"}, wantErr: "--percentage-of-nodes-to-score -1"},
		{name: "no policy at a time", args: []string{"--concurrency", "0"}, wantErr: "--concurrency 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _, _, _ := benchTraceCommand(t, tc.args...)
			_, _, err := o.parseChoices()
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("parseChoices() = %v, want error %q", err, tc.wantErr)
			}
		})
	}
}

func TestBenchTraceReadTrace(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-traces")
	for _, tc := range []struct {
		name      string
		args      []string
		wantFiles []string
		wantErr   string
	}{
		{name: "quick without traces replays the excerpt", args: []string{"--quick"}, wantFiles: traceExcerptFiles},
		{name: "a full run needs the traces", args: nil, wantErr: "or run with --quick"},
		{name: "a trace directory given must hold the traces", args: []string{"--quick", "--trace-dir", missing}, wantErr: "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, cmd, _, stderr := benchTraceCommand(t, tc.args...)
			if !cmd.Flags().Changed("trace-dir") {
				o.traceDir = missing // as if the default were absent
			}
			in, err := o.readTrace(stderr, cmd.Flags().Changed("trace-dir"), trace.SkipMalformed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readTrace() = %v, want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(in.files, " ") != strings.Join(tc.wantFiles, " ") || len(in.nodes) == 0 || len(in.pods) == 0 {
				t.Errorf("read %d nodes and %d pods from %v, want some from %v", len(in.nodes), len(in.pods), in.files, tc.wantFiles)
			}
		})
	}
}

func TestBenchTraceMalformedRows(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "nodes.csv"), "sn,cpu_milli,memory_mib,gpu,model\nnode-a,32000,262144,2,T4\nnode-b,lots,262144,0,\n")
	writeFile(t, filepath.Join(dir, "pods.csv"), "name,cpu_milli,memory_mib,num_gpu,gpu_milli\npod-a,1000,1024,1,500\npod-b,1000,1024,1,2000\n")
	args := []string{"--trace-dir", dir, "--node-list", "nodes.csv", "--pod-list", "pods.csv"}

	o, _, _, stderr := benchTraceCommand(t, args...)
	in, err := o.readTrace(stderr, true, trace.SkipMalformed)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.nodes) != 1 || len(in.pods) != 1 {
		t.Errorf("kept %d nodes and %d pods, want 1 and 1", len(in.nodes), len(in.pods))
	}
	for _, where := range []string{"nodes.csv:3", "pods.csv:3"} {
		if !strings.Contains(strings.Join(in.malformed, "\n"), where) {
			t.Errorf("malformed rows %q do not name %s", in.malformed, where)
		}
		if !strings.Contains(stderr.String(), "warning: skipping malformed row "+where) {
			t.Errorf("no warning for %s in %q", where, stderr.String())
		}
	}

	o, _, _, stderr = benchTraceCommand(t, args...)
	if _, err := o.readTrace(stderr, true, trace.RejectMalformed); err == nil || !strings.Contains(err.Error(), "nodes.csv:3") {
		t.Errorf("reject: readTrace() = %v, want an error naming nodes.csv:3", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
