package trace

import (
	"bufio"
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// updateExcerpt rewrites testdata's excerpt from the full traces:
//
//	go test ./bench/trace/ -run TestExcerptMatchesSelection -update-excerpt
var updateExcerpt = flag.Bool("update-excerpt", false, "rewrite the committed trace excerpt from the full traces")

// fullTraceDir is DefaultDir seen from this package's directory.
var fullTraceDir = filepath.Join("..", "..", DefaultDir)

// Excerpt selection (described in testdata/README.md).
const (
	excerptGPUNodes    = 60
	excerptMinPerModel = 2
	excerptCPUNodes    = 4
	excerptPodStride   = 10
)

// evenlySpaced picks k of n indices, spread evenly: the middle of each of
// k equal parts.
func evenlySpaced(n, k int) []int {
	out := make([]int, 0, k)
	for j := range k {
		out = append(out, int(math.Floor((float64(j)+0.5)*float64(n)/float64(k))))
	}
	return out
}

// selectExcerptNodes returns the node list excerpt: about
// excerptGPUNodes GPU nodes, each model in proportion to its node count
// and at least excerptMinPerModel nodes, plus excerptCPUNodes CPU-only
// nodes, each group evenly spaced over its rows, in file order.
func selectExcerptNodes(header string, rows []string, nodes []Node) []string {
	byModel := map[string][]int{}
	gpuNodes := 0
	for i, n := range nodes {
		byModel[n.Model] = append(byModel[n.Model], i)
		if n.GPUs > 0 {
			gpuNodes++
		}
	}
	var picked []int
	for model, idx := range byModel {
		k := excerptCPUNodes
		if model != "" {
			k = max(excerptMinPerModel, int(math.Round(float64(excerptGPUNodes)*float64(len(idx))/float64(gpuNodes))))
		}
		for _, j := range evenlySpaced(len(idx), min(k, len(idx))) {
			picked = append(picked, idx[j])
		}
	}
	slices.Sort(picked)
	out := []string{header}
	for _, i := range picked {
		out = append(out, rows[i])
	}
	return out
}

// selectExcerptPods returns every excerptPodStride-th pod, from the first.
func selectExcerptPods(header string, rows []string) []string {
	out := []string{header}
	for i := 0; i < len(rows); i += excerptPodStride {
		out = append(out, rows[i])
	}
	return out
}

// readLines returns a file's header and data lines.
func readLines(t *testing.T, path string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines[0], lines[1:]
}

func requireFullTrace(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(fullTraceDir); err != nil {
		t.Skipf("the openb traces are not at %s (%v); the committed excerpt stands in for them", fullTraceDir, err)
	}
}

// TestExcerptMatchesSelection checks that the committed excerpt is
// exactly what the documented selection takes from the full traces (or
// rewrites it with -update-excerpt).
func TestExcerptMatchesSelection(t *testing.T) {
	requireFullTrace(t)
	nodeHeader, nodeRows := readLines(t, filepath.Join(fullTraceDir, NodeListAll))
	nodes, _, err := ReadNodesFile(filepath.Join(fullTraceDir, NodeListAll), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(nodeRows) {
		t.Fatalf("%d nodes from %d rows", len(nodes), len(nodeRows))
	}
	podHeader, podRows := readLines(t, filepath.Join(fullTraceDir, PodListDefault))
	want := map[string]string{
		excerptNodeList: strings.Join(selectExcerptNodes(nodeHeader, nodeRows, nodes), "\n") + "\n",
		excerptPodList:  strings.Join(selectExcerptPods(podHeader, podRows), "\n") + "\n",
	}
	for name, content := range want {
		path := filepath.Join("testdata", name)
		if *updateExcerpt {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("%s differs from the selection from the full traces; rerun with -update-excerpt if the rule changed", path)
		}
	}
}

// TestExcerptContents checks what the tests and the quick run rely on:
// every model, CPU-only nodes, the pod mix.
func TestExcerptContents(t *testing.T) {
	nodes, pods, err := Excerpt()
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]int{}
	for _, n := range nodes {
		models[n.Model]++
	}
	for _, m := range Models() {
		if models[m] == 0 {
			t.Errorf("the excerpt has no %s node", m)
		}
	}
	if models[""] == 0 {
		t.Error("the excerpt has no CPU-only node")
	}
	kinds := map[string]int{}
	for _, p := range pods {
		switch {
		case p.NumGPU == 0:
			kinds["cpu"]++
		case p.GPUMilliDemand() < 1000:
			kinds["share"]++
		case p.NumGPU == 1:
			kinds["one"]++
		default:
			kinds["multi"]++
		}
		if !p.HasTimes {
			t.Fatalf("excerpt pod %s has no times", p.Name)
		}
	}
	for _, k := range []string{"cpu", "share", "one", "multi"} {
		if kinds[k] == 0 {
			t.Errorf("the excerpt has no %s pods (%v)", k, kinds)
		}
	}
	if len(nodes) < 50 || len(pods) < 700 {
		t.Errorf("the excerpt has %d nodes and %d pods, want about 60 and 800", len(nodes), len(pods))
	}
}
