package localenv_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/pkg/localenv"
)

// env is the one local environment shared by this package's tests.
var env *localenv.Env

const (
	dgxNode = "dgxh100-1"
	wsNode  = "workstation-1"
	migNode = "dgxa100-mig-1"
	shrNode = "workstation-shared-1"
	// dgxReservedSibling is the hardware-thread sibling of CPU 0 on a DGX
	// H100 (112 cores): the DGX node reserves both for the system.
	dgxReservedSibling = 112
)

func TestMain(m *testing.M) {
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v == "1" || v == "true" {
		fmt.Println("HADRON_SKIP_INTEGRATION set: skipping the local-environment integration tests")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer cancel()
	nodes, err := localenv.ParseNodes("dgxh100=1,workstation=1,dgxa100:mig=1,workstation:shared=1")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The workstation's GPUs recover from critical errors quickly, so that
	// the health test can see the taint go again.
	for i := range nodes {
		switch nodes[i].Name {
		case wsNode:
			nodes[i].GPUConfig = config.Default(config.ModeWhole)
			nodes[i].GPUConfig.Health.RecoverAfter = "3s"
		case dgxNode:
			nodes[i].CPU.Reserved = cpuset.New(0, dgxReservedSibling)
		}
	}
	start := time.Now()
	env, err = localenv.Start(ctx, localenv.Options{Nodes: nodes})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local environment (run `make build` first):", err)
		return 1
	}
	fmt.Printf("local environment up in %s (control plane %s, nodes %s)\n",
		time.Since(start).Round(time.Millisecond), env.ControlPlaneStartup.Round(time.Millisecond), env.NodesStartup.Round(time.Millisecond))
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop local environment:", err)
		return 1
	}
	return code
}
