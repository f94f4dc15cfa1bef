package trace

import (
	"slices"
	"strings"
)

// gpuClass is how a trace GPU model is simulated: the pkg/simhw model and
// the binary power model (idle when no share is allocated, full
// otherwise) that the PWR+FGD follow-up of the openb paper (CCGrid'25)
// uses on these traces.
type gpuClass struct {
	// simhw is the pkg/simhw GPU model name.
	simhw string
	// idleWatts and maxWatts are per GPU.
	idleWatts, maxWatts int
	// assumed says why the mapping is a guess, for the notes; empty when
	// the trace names the product.
	assumed string
}

// gpuClasses maps the trace's GPU models to simulated ones. The traces
// name P100, T4, V100 (16 and 32 GB) and A10 plainly; G2 and G3 are
// anonymised newer parts. Following the power model published for the
// traces (which prices G2 as an A10 and G3 as an A100), G2 is simulated as
// an A10 and G3 as an A100 PCIe 40GB. The V100s are the SXM2 boards, whose
// 300 W the power model uses; the P100 is the PCIe board (250 W).
var gpuClasses = map[string]gpuClass{
	"P100":    {simhw: "p100-pcie-16gb", idleWatts: 25, maxWatts: 250},
	"T4":      {simhw: "t4-pcie-16gb", idleWatts: 10, maxWatts: 70},
	"V100M16": {simhw: "v100-sxm2-16gb", idleWatts: 30, maxWatts: 300},
	"V100M32": {simhw: "v100-sxm2-32gb", idleWatts: 30, maxWatts: 300},
	"A10":     {simhw: "a10-pcie-24gb", idleWatts: 30, maxWatts: 150},
	"G2":      {simhw: "a10-pcie-24gb", idleWatts: 30, maxWatts: 150, assumed: "an anonymised model, taken to be A10 class as the published power model does"},
	"G3":      {simhw: "a100-pcie-40gb", idleWatts: 50, maxWatts: 400, assumed: "an anonymised model, taken to be A100 class as the published power model does (whose 400 W is the SXM figure)"},
}

// Models returns the trace GPU model names, sorted.
func Models() []string {
	names := make([]string, 0, len(gpuClasses))
	for name := range gpuClasses {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// knownModels is the list named in unknown-model errors.
func knownModels() string {
	return strings.Join(Models(), ", ")
}
