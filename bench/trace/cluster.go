package trace

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// LabelTraceModel is the node label carrying the trace's GPU model
// ("T4", "G2", ...) on GPU nodes, for pods whose gpu_spec restricts the
// model.
const LabelTraceModel = "gpu.hadron.dev/trace-model"

// cpuOnly names the stratum of CPU-only nodes in sampling notes.
const cpuOnly = "CPU-only"

// BuildCluster turns trace nodes into simulated nodes, in the given
// order, and returns them with notes on every synthesis choice.
func BuildCluster(nodes []Node) ([]ClusterNode, []string, error) {
	out := make([]ClusterNode, 0, len(nodes))
	seen := map[string]int{}
	rounded := 0
	for _, n := range nodes {
		if prev, dup := seen[n.Name]; dup {
			return nil, nil, fmt.Errorf("build cluster: node %q (line %d) duplicates the node of line %d", n.Name, n.Line, prev)
		}
		seen[n.Name] = n.Line
		m, err := BuildMachine(n)
		if err != nil {
			return nil, nil, fmt.Errorf("build cluster: %w", err)
		}
		if int64(machineCPUs(m.CPU))*1000 != n.CPUMilli {
			rounded++
		}
		labels := map[string]string{}
		if n.Model != "" {
			labels[LabelTraceModel] = n.Model
		}
		out = append(out, ClusterNode{Trace: n, Machine: m, Labels: labels})
	}
	notes := machineNotes()
	if rounded > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d nodes have more logical CPUs in their machine than cpu_milli/1000 (rounded up to whole cores per socket); the trace's cpu_milli stays their capacity", rounded, len(nodes)))
	}
	notes = append(notes, fmt.Sprintf("node label %s carries the trace GPU model of GPU nodes", LabelTraceModel))
	return out, notes, nil
}

// clusterGPUs counts the GPUs of the nodes.
func clusterGPUs(nodes []Node) int {
	total := 0
	for _, n := range nodes {
		total += n.GPUs
	}
	return total
}

// selectNodes applies GPUNodesOnly and SampleNodes, keeping the trace
// order, and describes what it did.
func selectNodes(nodes []Node, opts Options) ([]Node, []string, error) {
	var notes []string
	if opts.GPUNodesOnly {
		var gpuNodes []Node
		for _, n := range nodes {
			if n.GPUs > 0 {
				gpuNodes = append(gpuNodes, n)
			}
		}
		notes = append(notes, fmt.Sprintf("GPU nodes only: %d of %d nodes kept", len(gpuNodes), len(nodes)))
		nodes = gpuNodes
	}
	if len(nodes) == 0 {
		return nil, nil, fmt.Errorf("no nodes to build a cluster from")
	}
	if opts.SampleNodes == 0 || opts.SampleNodes >= len(nodes) {
		if opts.SampleNodes > 0 {
			notes = append(notes, fmt.Sprintf("sampling %d nodes keeps all %d", opts.SampleNodes, len(nodes)))
		}
		return nodes, notes, nil
	}
	sampled, desc, err := sampleStratified(nodes, opts.SampleNodes, opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, desc)
	return sampled, notes, nil
}

// stratum is the nodes of one GPU model (or the CPU-only ones).
type stratum struct {
	model string
	nodes []int // indices into the node list
	keep  int
}

// sampleStratified picks n nodes with every GPU model (and CPU-only
// nodes, if any) in about its share of the list and at least one node
// each; within a model the nodes are a seeded random choice. The result
// keeps the list's order.
func sampleStratified(nodes []Node, n int, seed int64) ([]Node, string, error) {
	byModel := map[string]*stratum{}
	var strata []*stratum
	for i, node := range nodes {
		model := node.Model
		if model == "" {
			model = cpuOnly
		}
		s := byModel[model]
		if s == nil {
			s = &stratum{model: model}
			byModel[model] = s
			strata = append(strata, s)
		}
		s.nodes = append(s.nodes, i)
	}
	slices.SortFunc(strata, func(a, b *stratum) int { return cmp.Compare(a.model, b.model) })
	if n < len(strata) {
		return nil, "", fmt.Errorf("sample %d nodes: the cluster has %d GPU models (counting CPU-only nodes as one), and every one keeps a node", n, len(strata))
	}
	// Every stratum keeps one node; the rest go one at a time to the
	// stratum furthest below its proportional share.
	for _, s := range strata {
		s.keep = 1
	}
	for left := n - len(strata); left > 0; left-- {
		var best *stratum
		bestGap := 0.0
		for _, s := range strata {
			if s.keep == len(s.nodes) {
				continue
			}
			gap := float64(n)*float64(len(s.nodes))/float64(len(nodes)) - float64(s.keep)
			if best == nil || gap > bestGap {
				best, bestGap = s, gap
			}
		}
		best.keep++
	}
	rng := rand.New(rand.NewPCG(uint64(seed), streamSampling))
	var picked []int
	parts := make([]string, 0, len(strata))
	for _, s := range strata {
		idx := slices.Clone(s.nodes)
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		picked = append(picked, idx[:s.keep]...)
		parts = append(parts, fmt.Sprintf("%s %d/%d", s.model, s.keep, len(s.nodes)))
	}
	slices.Sort(picked)
	out := make([]Node, len(picked))
	for i, p := range picked {
		out[i] = nodes[p]
	}
	desc := fmt.Sprintf("sampled %d of %d nodes, stratified by GPU model, seeded (%s); demand targets are relative to the sampled cluster's GPUs",
		n, len(nodes), strings.Join(parts, ", "))
	return out, desc, nil
}
