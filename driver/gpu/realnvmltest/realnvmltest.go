// Package realnvmltest opens the host's real NVML for the read-only tests
// that compare hadron's NVML paths with the driver (discovery, power,
// utilisation). Only tests import it.
package realnvmltest

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// EnvVar enables the real-NVML tests: they run only on a GPU host where
// it is set to 1, since the simulated machines cover the same code
// everywhere else.
const EnvVar = "HADRON_REAL_NVML"

// Open skips t unless EnvVar is 1, and otherwise returns the initialised
// library, shut down when t ends.
func Open(t testing.TB) nvml.Interface {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skip("set " + EnvVar + "=1 on a host with an NVIDIA driver")
	}
	lib := nvml.New()
	if ret := lib.Init(); ret != nvml.SUCCESS {
		t.Fatalf("NVML init: %s", nvml.ErrorString(ret))
	}
	t.Cleanup(func() { _ = lib.Shutdown() })
	return lib
}
