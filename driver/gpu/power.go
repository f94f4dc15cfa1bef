package gpu

import (
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// power returns the GPU's idle and maximum board power in watts.
//
// NVML has no "idle power" query. A GPU that is idle right now draws its
// idle power, so when utilisation is zero the current reading is the
// figure; otherwise the per-model table below (from the products' data
// sheets and the per-GPU model used in GPU-cluster power studies) stands in.
// The maximum is the default power limit (the board's TDP).
func power(dev nvml.Device, product string) (idle, maxW int) {
	if limit, ret := dev.GetPowerManagementDefaultLimit(); ret == nvml.SUCCESS && limit > 0 {
		maxW = int(limit / 1000)
	}
	if util, ret := dev.GetUtilizationRates(); ret == nvml.SUCCESS && util.Gpu == 0 {
		if mw, ret := dev.GetPowerUsage(); ret == nvml.SUCCESS && mw > 0 {
			idle = int(mw / 1000)
		}
	}
	tIdle, tMax := tablePower(product)
	if idle == 0 {
		idle = tIdle
	}
	if maxW == 0 {
		maxW = tMax
	}
	if idle > maxW {
		idle = maxW
	}
	return idle, maxW
}

// powerTable: product-name fragment → idle and maximum watts. Order matters:
// more specific fragments first.
var powerTable = []struct {
	fragment  string
	idle, max int
}{
	{"B200", 140, 1000},
	{"H200", 75, 700},
	{"H100 PCIe", 50, 350},
	{"H100", 70, 700},
	{"A100-PCIE", 35, 250},
	{"A100", 50, 400},
	{"A30", 30, 165},
	{"A10", 30, 150},
	{"L40", 35, 300},
	{"L4", 16, 72},
	{"V100", 30, 300},
	{"T4", 10, 70},
	{"P100", 25, 250},
}

func tablePower(product string) (idle, maxW int) {
	p := strings.ToUpper(product)
	for _, e := range powerTable {
		if strings.Contains(p, strings.ToUpper(e.fragment)) {
			return e.idle, e.max
		}
	}
	// Unknown model: a conservative mid-range board.
	return 30, 300
}
