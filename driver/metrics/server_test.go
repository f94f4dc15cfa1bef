package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"k8s.io/klog/v2/ktesting"
)

// TestServer: the endpoint serves the plugin's metrics in Prometheus'
// text format and answers health checks.
func TestServer(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v after cancel, want nil", err)
		}
	}()

	Errors.WithLabelValues("gpu.hadron.dev", OperationPrepare, "server_test").Inc()
	PrepareDuration.WithLabelValues("gpu.hadron.dev", "mig", ResultSuccess).Observe(0.01)

	body := get(t, "http://"+s.Addr()+"/metrics", http.StatusOK)
	for _, want := range []string{
		`hadron_driver_errors_total{driver="gpu.hadron.dev",operation="prepare",reason="server_test"} 1`,
		`hadron_driver_prepare_duration_seconds_count{device_type="mig",driver="gpu.hadron.dev",result="success"} 1`,
		"# TYPE hadron_driver_prepare_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if body := get(t, "http://"+s.Addr()+"/healthz", http.StatusOK); body != "ok" {
		t.Errorf("/healthz = %q, want ok", body)
	}
	get(t, "http://"+s.Addr()+"/nothing", http.StatusNotFound)
}

func TestListenRefusesBadAddress(t *testing.T) {
	if _, err := Listen("not-an-address"); err == nil {
		t.Error("Listen(not-an-address) = nil error")
	}
}

func get(t *testing.T, url string, wantStatus int) string {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx // a test against a local server
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, wantStatus)
	}
	return string(raw)
}
