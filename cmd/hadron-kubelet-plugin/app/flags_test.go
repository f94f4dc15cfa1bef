package app

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMetricsAndReclaimFlags: the metrics endpoint and the idle reclaim
// are on by default, and each can be configured or switched off.
func TestMetricsAndReclaimFlags(t *testing.T) {
	cmd := NewCommand()
	f := cmd.Flags()
	for name, want := range map[string]string{
		"metrics-address":          ":8080",
		"reclaim-idle-workspaces":  "true",
		"reclaim-interval":         "30s",
		"reclaim-gpu-busy-percent": "5",
	} {
		flag := f.Lookup(name)
		if flag == nil {
			t.Errorf("no --%s flag", name)
			continue
		}
		if flag.DefValue != want {
			t.Errorf("--%s defaults to %q, want %q", name, flag.DefValue, want)
		}
	}
	if err := f.Parse([]string{"--metrics-address=", "--reclaim-idle-workspaces=false", "--reclaim-interval=2s"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetString("metrics-address"); v != "" {
		t.Errorf("--metrics-address= gives %q, want empty (disabled)", v)
	}
	if v, _ := f.GetDuration("reclaim-interval"); v != 2*time.Second {
		t.Errorf("--reclaim-interval=2s gives %s", v)
	}
}

func TestStartMetricsRefusesBadAddress(t *testing.T) {
	err := startMetrics(context.Background(), "no-port-here", func(error) {})
	if err == nil || !strings.Contains(err.Error(), "--metrics-address") {
		t.Errorf("startMetrics(bad address) = %v, want an error naming the flag", err)
	}
	if err := startMetrics(context.Background(), "", func(error) {}); err != nil {
		t.Errorf("startMetrics(empty) = %v, want nil (disabled)", err)
	}
}
