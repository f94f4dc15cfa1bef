package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
)

// Server serves /metrics (the legacy registry, in Prometheus' text
// format) and /healthz.
type Server struct {
	listener net.Listener
	server   *http.Server
}

// Listen binds addr (host:port; port 0 picks a free one). Call Serve to
// answer requests.
func Listen(addr string) (*Server, error) {
	Register()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %q: %w", addr, err)
	}
	return &Server{listener: ln, server: &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve answers requests until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.server.Shutdown(shutdownCtx); err != nil {
			klog.FromContext(ctx).Error(err, "Shutting down the metrics server")
		}
	}()
	klog.FromContext(ctx).Info("Serving metrics", "address", s.Addr())
	err := s.server.Serve(s.listener)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return fmt.Errorf("serve metrics: %w", err)
}

// Handler answers /metrics and /healthz.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", legacyregistry.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}
