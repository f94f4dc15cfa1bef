package helm

import (
	"os"
	"testing"

	"github.com/hadron-sched/hadron/pkg/localcluster/clustertest"
)

func TestMain(m *testing.M) {
	// Every test renders the chart first: without helm they all skip, and
	// there is no point starting a control plane.
	if _, err := findHelm(); err != nil && os.Getenv("CI") == "" {
		os.Exit(m.Run())
	}
	clustertest.Main(m, nil)
}
