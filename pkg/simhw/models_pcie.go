package simhw

import (
	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
)

// GPU models older than go-nvml's mock catalogue (which starts at Ampere
// A100/A30), as found in production clusters of the Pascal to Ampere
// generations: the Alibaba GPU traces name exactly these. None has MIG.
//
// Facts per model, from the NVIDIA product datasheets (memory, host
// interface, board power) and the CUDA programming guide's table of
// compute capabilities; names are what NVML's nvmlDeviceGetName returns on
// those boards (nvidia-smi prints the same), and PCI device IDs are those
// of the PCI ID Repository (pci.ids, vendor 10de), in go-nvml's layout:
// device ID in the high half, vendor in the low half. Memory sizes are
// the nominal ones, as the mock catalogue gives them.
var (
	// Tesla P100 PCIe 16 GB (GP100GL, device 15f8): Pascal, compute
	// capability 6.0, 16 GB HBM2, PCIe Gen3 x16, 250 W.
	teslaP100PCIe16GB = gpus.Config{
		Name:         "Tesla P100-PCIE-16GB",
		Architecture: nvml.DEVICE_ARCH_PASCAL,
		Brand:        nvml.BRAND_TESLA,
		MemoryMB:     16384,
		CudaMajor:    6,
		CudaMinor:    0,
		PciDeviceId:  0x15F810DE,
	}
	// Tesla T4 (TU104GL, device 1eb8): Turing, compute capability 7.5,
	// 16 GB GDDR6, PCIe Gen3 x16, 70 W.
	teslaT4 = gpus.Config{
		Name:         "Tesla T4",
		Architecture: nvml.DEVICE_ARCH_TURING,
		Brand:        nvml.BRAND_TESLA,
		MemoryMB:     16384,
		CudaMajor:    7,
		CudaMinor:    5,
		PciDeviceId:  0x1EB810DE,
	}
	// Tesla V100 SXM2 16 GB (GV100GL, device 1db1): Volta, compute
	// capability 7.0, 16 GB HBM2, PCIe Gen3 x16 host link, 300 W.
	teslaV100SXM216GB = gpus.Config{
		Name:         "Tesla V100-SXM2-16GB",
		Architecture: nvml.DEVICE_ARCH_VOLTA,
		Brand:        nvml.BRAND_TESLA,
		MemoryMB:     16384,
		CudaMajor:    7,
		CudaMinor:    0,
		PciDeviceId:  0x1DB110DE,
	}
	// Tesla V100 SXM2 32 GB (GV100GL, device 1db5): as the 16 GB board
	// with 32 GB HBM2.
	teslaV100SXM232GB = gpus.Config{
		Name:         "Tesla V100-SXM2-32GB",
		Architecture: nvml.DEVICE_ARCH_VOLTA,
		Brand:        nvml.BRAND_TESLA,
		MemoryMB:     32768,
		CudaMajor:    7,
		CudaMinor:    0,
		PciDeviceId:  0x1DB510DE,
	}
	// NVIDIA A10 (GA102GL, device 2236): Ampere, compute capability 8.6,
	// 24 GB GDDR6, PCIe Gen4 x16, 150 W; no MIG (GA102 has none).
	nvidiaA10 = gpus.Config{
		Name:         "NVIDIA A10",
		Architecture: nvml.DEVICE_ARCH_AMPERE,
		Brand:        nvml.BRAND_NVIDIA,
		MemoryMB:     24576,
		CudaMajor:    8,
		CudaMinor:    6,
		PciDeviceId:  0x223610DE,
	}
)
