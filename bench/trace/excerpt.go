package trace

import (
	"bytes"
	"embed"
	"fmt"
)

// excerptFS holds a small deterministic excerpt of the openb traces (see
// testdata/README.md for how it was selected), so that tests and quick
// runs work where the full traces are absent.
//
//go:embed testdata/openb_node_list_excerpt.csv testdata/openb_pod_list_default_excerpt.csv
var excerptFS embed.FS

// Excerpt returns the committed excerpt of the openb traces: about 60 GPU
// nodes covering every GPU model plus a few CPU-only nodes, and every
// tenth pod of the default pod list.
func Excerpt() ([]Node, []Pod, error) {
	nodeData, err := excerptFS.ReadFile("testdata/" + excerptNodeList)
	if err != nil {
		return nil, nil, fmt.Errorf("read trace excerpt: %w", err)
	}
	podData, err := excerptFS.ReadFile("testdata/" + excerptPodList)
	if err != nil {
		return nil, nil, fmt.Errorf("read trace excerpt: %w", err)
	}
	nodes, _, err := ReadNodes(bytes.NewReader(nodeData), excerptNodeList, ReadOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read trace excerpt: %w", err)
	}
	pods, _, err := ReadPods(bytes.NewReader(podData), excerptPodList, ReadOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read trace excerpt: %w", err)
	}
	return nodes, pods, nil
}
