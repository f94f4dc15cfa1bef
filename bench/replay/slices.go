package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/bench/trace"
	"github.com/hadron-sched/hadron/driver/gpu/config"
	"github.com/hadron-sched/hadron/driver/nodeplugin"
	"github.com/hadron-sched/hadron/pkg/simhw"
)

// templateNode is the node name the slices of a machine are rendered for
// before they are copied to each node with that machine.
const templateNode = "replay-template-node"

// SharedGPUConfig is the GPU driver configuration of every replayed node:
// all GPUs shared, with a request policy under which every trace request
// fits exactly.
//
// The driver offers a GPU either whole or shared, never both, while the
// trace's GPUs (and FGD's model) serve both. Sharing every GPU keeps
// that: a whole-GPU pod asks a shared GPU for all its compute (1000
// milli-GPU), a share for its trace milli-GPU. Shares of 1 milli-GPU in
// steps of 1 let every trace value (1-999) be asked for without rounding
// up. The trace has no GPU memory dimension, so shares ask for none and
// get the default, which MinMemory and MemoryStep of 1Mi make 1/1000 of
// the GPU's memory: memory never limits how many shares fit.
func SharedGPUConfig() *config.Config {
	mib := resource.MustParse("1Mi")
	step := mib.DeepCopy()
	c := &config.Config{
		DefaultMode: config.ModeShared,
		Shared:      config.SharedDefaults{MinMilli: 1, MilliStep: 1, DefaultMilli: 1, MinMemory: &mib, MemoryStep: &step},
	}
	c.SetDefaults()
	return c
}

// machineSlices renders, once per distinct machine, the ResourceSlices
// hadron's drivers publish for it, and copies them to every node.
type machineSlices struct {
	dir string
	// rendered holds each distinct machine's slices, by its encoding.
	rendered map[string][]resourceapi.ResourceSlice
}

func newMachineSlices(dir string) *machineSlices {
	return &machineSlices{dir: dir, rendered: map[string][]resourceapi.ResourceSlice{}}
}

// forNode returns the slices of node, rendered with the real driver code
// on the node's simulated machine.
func (ms *machineSlices) forNode(ctx context.Context, node trace.ClusterNode) ([]resourceapi.ResourceSlice, error) {
	if node.Machine == nil {
		return nil, fmt.Errorf("node %s has no machine", node.Trace.Name)
	}
	// Trace machines carry their node's name (also the simulated NVML's
	// seed) and a description; the hardware is what tells machines apart,
	// so a trace of 1,213 nodes renders a few dozen machines, not 1,213
	// sysfs trees.
	hw := *node.Machine
	hw.Name, hw.Description = "trace-machine", ""
	key, err := json.Marshal(&hw)
	if err != nil {
		return nil, fmt.Errorf("node %s: encode machine: %w", node.Trace.Name, err)
	}
	tmpl, ok := ms.rendered[string(key)]
	if !ok {
		dir := filepath.Join(ms.dir, fmt.Sprintf("machine-%d", len(ms.rendered)))
		tmpl, err = renderMachine(ctx, &hw, dir)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node.Trace.Name, err)
		}
		// The slices are all that is needed of the tree.
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove simulated machine %s: %w", dir, err)
		}
		ms.rendered[string(key)] = tmpl
	}
	return copyForNode(tmpl, node.Trace.Name)
}

// renderMachine opens the machine as simulated hardware (mock NVML and a
// sysfs tree written to dir), builds hadron's device families on it and
// renders their slices for templateNode.
func renderMachine(ctx context.Context, m *simhw.Machine, dir string) ([]resourceapi.ResourceSlice, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("machine directory: %w", err)
	}
	raw, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode machine %s: %w", m.Name, err)
	}
	file := filepath.Join(dir, "machine.yaml")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		return nil, fmt.Errorf("write machine %s: %w", m.Name, err)
	}
	gpuConfig := SharedGPUConfig()
	hw, err := nodeplugin.OpenHardware(nodeplugin.HardwareOptions{
		Machine: file, NodeName: templateNode, SysfsRoot: filepath.Join(dir, "root"), GPUConfig: gpuConfig,
	})
	if err != nil {
		return nil, fmt.Errorf("open simulated machine %s: %w", m.Name, err)
	}
	defer hw.Close()
	families, err := nodeplugin.Families(templateNode, hw, nodeplugin.FamilyOptions{GPU: gpuConfig, StateDir: filepath.Join(dir, "state")})
	if err != nil {
		return nil, fmt.Errorf("device families of machine %s: %w", m.Name, err)
	}
	var out []resourceapi.ResourceSlice
	for _, f := range families {
		res, err := f.Resources(ctx)
		if err != nil {
			return nil, fmt.Errorf("machine %s: %s devices: %w", m.Name, f.DriverName(), err)
		}
		out = append(out, nodeplugin.RenderSlices(f.DriverName(), templateNode, res)...)
	}
	return out, nil
}

// copyForNode copies rendered slices for node: slice names, node name and
// pool names (each driver's pool is named after its node) are
// substituted. The copies must not mention the template anywhere else.
func copyForNode(tmpl []resourceapi.ResourceSlice, node string) ([]resourceapi.ResourceSlice, error) {
	out := make([]resourceapi.ResourceSlice, 0, len(tmpl))
	for i := range tmpl {
		s := tmpl[i].DeepCopy()
		s.Name = node + strings.TrimPrefix(s.Name, templateNode)
		s.Spec.NodeName = &node
		if s.Spec.Pool.Name == templateNode {
			s.Spec.Pool.Name = node
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encode slice %s: %w", s.Name, err)
		}
		if strings.Contains(string(raw), templateNode) {
			return nil, fmt.Errorf("slice %s names its node in a field that copying does not rewrite", s.Name)
		}
		out = append(out, *s)
	}
	return out, nil
}
