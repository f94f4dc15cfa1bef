// Package clustertest starts one local control plane per test package.
//
// Usage:
//
//	func TestMain(m *testing.M) {
//		clustertest.Main(m, nil)
//	}
//
//	func TestSomething(t *testing.T) {
//		c := clustertest.Get(t)
//		client, err := c.Client()
//		...
//	}
//
// Binaries come from localcluster.DefaultBinDir(), the scheduler binary from
// $HADRON_SCHEDULER_BINARY (default "hadron-scheduler"). Missing binaries fail
// the test binary with a hint to run `make build`; integration tests are
// never skipped silently. Setting HADRON_SKIP_INTEGRATION=1 skips the
// cluster: Get then skips the calling test, other tests still run.
package clustertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hadron-sched/hadron/pkg/localcluster"
)

const (
	// EnvSkip, when set to "1" or "true", makes Main skip the cluster.
	EnvSkip = "HADRON_SKIP_INTEGRATION"
	// EnvSchedulerBinary overrides the scheduler binary name in BinDir.
	EnvSchedulerBinary = "HADRON_SCHEDULER_BINARY"
	// EnvKeepWorkDir, when set to "1" or "true", keeps the state directory
	// (kubeconfig, component logs) after the tests.
	EnvKeepWorkDir = "HADRON_KEEP_WORKDIR"

	startTimeout = 5 * time.Minute
)

var (
	cluster *localcluster.Cluster
	skipped bool
)

// Option modifies the localcluster.Options used by Main, after the
// defaults (BinDir, WorkDir, SchedulerBinary) were filled in.
type Option func(*localcluster.Options)

// WithSchedulerConfig sets the KubeSchedulerConfiguration.
func WithSchedulerConfig(cfg []byte) Option {
	return func(o *localcluster.Options) { o.SchedulerConfig = cfg }
}

// WithSchedulerBinary sets the scheduler binary unless $HADRON_SCHEDULER_BINARY
// is set (the environment wins).
func WithSchedulerBinary(name string) Option {
	return func(o *localcluster.Options) {
		if os.Getenv(EnvSchedulerBinary) == "" {
			o.SchedulerBinary = name
		}
	}
}

// Main starts one cluster, calls run with it, stops the cluster and exits
// with run's result. run is normally func(c *localcluster.Cluster) int {
// return m.Run() }; nil means exactly that. If HADRON_SKIP_INTEGRATION=1,
// no cluster is started and m.Run() is called instead of run. Main does
// not return.
func Main(m *testing.M, run func(c *localcluster.Cluster) int, opts ...Option) {
	os.Exit(mainCode(m, run, opts...))
}

func mainCode(m *testing.M, run func(c *localcluster.Cluster) int, opts ...Option) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if v := os.Getenv(EnvSkip); v == "1" || v == "true" {
		skipped = true
		fmt.Fprintf(os.Stderr, "clustertest: %s=%s, not starting the local control plane; integration tests are skipped\n", EnvSkip, v)
		return m.Run()
	}
	if run == nil {
		run = func(*localcluster.Cluster) int { return m.Run() }
	}

	workDir, err := os.MkdirTemp("", "hadron-clustertest-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: %v\n", err)
		return 1
	}
	o := localcluster.Options{
		BinDir:          localcluster.DefaultBinDir(),
		WorkDir:         workDir,
		SchedulerBinary: os.Getenv(EnvSchedulerBinary),
		Progress: func(step string) {
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "clustertest: %s\n", step)
			}
		},
	}
	for _, opt := range opts {
		opt(&o)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	c, err := localcluster.Start(ctx, o)
	cancel()
	if err != nil {
		var missing *localcluster.MissingBinariesError
		if errors.As(err, &missing) {
			fmt.Fprintf(os.Stderr, "clustertest: FAIL: %v\n"+
				"clustertest: integration tests need the control plane binaries: run `make build` first "+
				"(or set HADRON_BIN_DIR; set %s=1 to skip integration tests)\n", err, EnvSkip)
		} else {
			fmt.Fprintf(os.Stderr, "clustertest: FAIL: %v\n", err)
		}
		fmt.Fprintf(os.Stderr, "clustertest: state and logs kept in %s\n", workDir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "clustertest: local control plane started in %.1fs (kubeconfig %s)\n", c.StartupTime.Seconds(), c.KubeconfigPath)
	cluster = c

	code := run(c)

	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if v := os.Getenv(EnvKeepWorkDir); code != 0 || v == "1" || v == "true" {
		fmt.Fprintf(os.Stderr, "clustertest: state and logs kept in %s\n", workDir)
	} else {
		_ = os.RemoveAll(workDir)
	}
	return code
}

// Get returns the package's cluster. It skips the test if Main skipped the
// cluster (HADRON_SKIP_INTEGRATION=1) and fails it if Main was not used.
func Get(t testing.TB) *localcluster.Cluster {
	t.Helper()
	if skipped {
		t.Skipf("%s is set", EnvSkip)
	}
	if cluster == nil {
		t.Fatal("clustertest: no cluster; call clustertest.Main from TestMain")
	}
	return cluster
}
