package trace

import (
	"path/filepath"
	"testing"
)

// TestReadFullTraces reads every file of the openb traces, where they are
// present next to the repository, and checks the counts their README
// gives.
func TestReadFullTraces(t *testing.T) {
	requireFullTrace(t)
	for _, tc := range []struct {
		file            string
		nodes, gpuNodes int
		gpus            int
	}{
		{file: NodeListAll, nodes: 1523, gpuNodes: 1213, gpus: 6212},
		{file: NodeListGPU, nodes: 1213, gpuNodes: 1213, gpus: 6212},
	} {
		nodes, skipped, err := ReadNodesFile(filepath.Join(fullTraceDir, tc.file), ReadOptions{})
		if err != nil || skipped != nil {
			t.Fatalf("%s: %v (skipped %v)", tc.file, err, skipped)
		}
		gpuNodes, gpus := 0, 0
		for _, n := range nodes {
			if n.GPUs > 0 {
				gpuNodes++
			}
			gpus += n.GPUs
		}
		if len(nodes) != tc.nodes || gpuNodes != tc.gpuNodes || gpus != tc.gpus {
			t.Errorf("%s: %d nodes, %d GPU nodes, %d GPUs; want %d, %d, %d", tc.file, len(nodes), gpuNodes, gpus, tc.nodes, tc.gpuNodes, tc.gpus)
		}
		if _, _, err := BuildCluster(nodes); err != nil {
			t.Errorf("%s: BuildCluster: %v", tc.file, err)
		}
	}
	for _, tc := range []struct {
		file     string
		pods     int // 0: the README gives no count
		hasTimes bool
	}{
		{PodListDefault, 8152, true},
		{PodListGPUShare40, 8152, true},
		{PodListGPUSpec10, 8152, true},
		{PodListMultiGPU20, 0, false},
		{PodListCPU050, 0, true},
	} {
		pods, skipped, err := ReadPodsFile(filepath.Join(fullTraceDir, tc.file), ReadOptions{})
		if err != nil || skipped != nil {
			t.Fatalf("%s: %v (skipped %v)", tc.file, err, skipped)
		}
		if tc.pods != 0 && len(pods) != tc.pods {
			t.Errorf("%s: %d pods, want %d", tc.file, len(pods), tc.pods)
		}
		for _, p := range pods {
			if p.HasTimes != tc.hasTimes {
				t.Fatalf("%s: pod %s HasTimes = %v, want %v", tc.file, p.Name, p.HasTimes, tc.hasTimes)
			}
		}
		t.Logf("%s: %d pods", tc.file, len(pods))
	}
}
