package trace

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDir is where the openb traces (Alibaba clusterdata,
// cluster-trace-gpu-v2023) are found relative to the repository root: in
// a shared folder next to the repository.
const DefaultDir = "../shared/traces/alibaba-gpu-v2023"

// The files of the openb traces.
const (
	NodeListAll        = "openb_node_list_all_node.csv"
	NodeListGPU        = "openb_node_list_gpu_node.csv"
	PodListDefault     = "openb_pod_list_default.csv"
	PodListGPUShare40  = "openb_pod_list_gpushare40.csv"
	PodListMultiGPU20  = "openb_pod_list_multigpu20.csv"
	PodListGPUSpec10   = "openb_pod_list_gpuspec10.csv"
	PodListCPU050      = "openb_pod_list_cpu050.csv"
	excerptNodeList    = "openb_node_list_excerpt.csv"
	excerptPodList     = "openb_pod_list_default_excerpt.csv"
	excerptDescription = "README.md"
)

// PodLists are the pod list files of the openb traces.
var PodLists = []string{PodListDefault, PodListGPUShare40, PodListMultiGPU20, PodListGPUSpec10, PodListCPU050}

// ReadNodesFile reads a node list file; errors name it by its base name.
func ReadNodesFile(path string, opts ReadOptions) ([]Node, []*RowError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open node list: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	return ReadNodes(f, filepath.Base(path), opts)
}

// ReadPodsFile reads a pod list file; errors name it by its base name.
func ReadPodsFile(path string, opts ReadOptions) ([]Pod, []*RowError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open pod list: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	return ReadPods(f, filepath.Base(path), opts)
}
