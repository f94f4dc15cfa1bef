package simhw

import (
	"sort"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
)

// gpuModel is one GPU model the simulation can build: the go-nvml mock
// configuration plus the PCIe facts the mock does not carry but sysfs and
// NVML callers expect.
type gpuModel struct {
	config gpus.Config
	// family picks the go-nvml mock machine whose driver/CUDA versions a
	// composed machine (Base "") inherits.
	family string
	// pcieGen is the host link generation, from the product datasheets
	// (Pascal to Turing: Gen3; Ampere: Gen4; Hopper and the HGX B200
	// board: Gen5).
	pcieGen int
}

// models maps the names accepted in GPU.Model to go-nvml's mock GPU
// configurations. The names are the mock's variable names, lower-cased and
// dashed, so that the mapping is obvious; the Pascal to Ampere PCIe-era
// models the mock lacks (models_pcie.go) are named the same way. Those take
// the driver of go-nvml's oldest mock machine (DGX A100), which drives every
// GPU from Pascal on.
var models = map[string]gpuModel{
	"a100-sxm4-40gb":  {config: gpus.A100_SXM4_40GB, family: "dgxa100", pcieGen: 4},
	"a100-sxm4-80gb":  {config: gpus.A100_SXM4_80GB, family: "dgxa100", pcieGen: 4},
	"a100-pcie-40gb":  {config: gpus.A100_PCIE_40GB, family: "dgxa100", pcieGen: 4},
	"a100-pcie-80gb":  {config: gpus.A100_PCIE_80GB, family: "dgxa100", pcieGen: 4},
	"a30-pcie-24gb":   {config: gpus.A30_PCIE_24GB, family: "dgxa100", pcieGen: 4},
	"h100-sxm5-80gb":  {config: gpus.H100_SXM5_80GB, family: "dgxh100", pcieGen: 5},
	"h200-sxm5-141gb": {config: gpus.H200_SXM5_141GB, family: "dgxh200", pcieGen: 5},
	"b200-sxm5-180gb": {config: gpus.B200_SXM5_180GB, family: "dgxb200", pcieGen: 5},
	"p100-pcie-16gb":  {config: teslaP100PCIe16GB, family: "dgxa100", pcieGen: 3},
	"t4-pcie-16gb":    {config: teslaT4, family: "dgxa100", pcieGen: 3},
	"v100-sxm2-16gb":  {config: teslaV100SXM216GB, family: "dgxa100", pcieGen: 3},
	"v100-sxm2-32gb":  {config: teslaV100SXM232GB, family: "dgxa100", pcieGen: 3},
	"a10-pcie-24gb":   {config: nvidiaA10, family: "dgxa100", pcieGen: 4},
}

// baseModels maps each accepted Machine.Base to the GPU model its go-nvml
// mock machine is built from.
var baseModels = map[string]string{
	"dgxa100": "a100-sxm4-40gb",
	"dgxh100": "h100-sxm5-80gb",
	"dgxh200": "h200-sxm5-141gb",
	"dgxb200": "b200-sxm5-180gb",
}

// Models returns the sorted GPU model names accepted in GPU.Model.
func Models() []string {
	return sortedKeys(models)
}

// Bases returns the sorted names accepted in Machine.Base.
func Bases() []string {
	return sortedKeys(baseModels)
}

// modelOf returns the model name GPU i of a validated machine uses.
func (m *Machine) modelOf(i int) string {
	if m.GPUs[i].Model != "" {
		return m.GPUs[i].Model
	}
	return baseModels[m.Base]
}

// nvmlConfig returns the mock configuration for a model. The mock names its
// A100 SXM4 40GB "Mock NVIDIA A100-SXM4-40GB" for backward compatibility of
// its own tests; real NVML has no such prefix and drivers derive product
// names from GetName, so the prefix is dropped here.
func nvmlConfig(model string) gpus.Config {
	c := models[model].config
	c.Name = strings.TrimPrefix(c.Name, "Mock ")
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
