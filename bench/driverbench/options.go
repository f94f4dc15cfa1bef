package driverbench

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hadron-sched/hadron/pkg/localenv"
	"github.com/hadron-sched/hadron/pkg/nodesim"
)

// DefaultTargets are the measured machines and GPU modes: every built-in
// machine the project simulates for research platforms, in the modes that
// change what the driver publishes and prepares.
const DefaultTargets = "dgxh100,dgxh100:mig,dgxh100:shared,dgxa100,dgxa100:mig,dgxb200,workstation"

// Options sizes a run.
type Options struct {
	// BinDir holds the control-plane binaries and hadron-kubelet-plugin
	// (default: the local cluster's default binary directory).
	BinDir string
	// Targets is a comma-separated list of machine[:gpu-mode] entries
	// (default DefaultTargets).
	Targets string
	// Iterations is the number of discovery and slice-build samples per
	// target.
	Iterations int
	// Publish is the number of plugin starts timed per target.
	Publish int
	// Claims is the number of claims prepared and unprepared, one at a
	// time, per claim kind.
	Claims int
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
}

func (o Options) withDefaults() Options {
	if o.Targets == "" {
		o.Targets = DefaultTargets
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Iterations < 1 {
		errs = append(errs, fmt.Errorf("iterations %d: measure at least one discovery", o.Iterations))
	}
	if o.Publish < 1 {
		errs = append(errs, fmt.Errorf("publish %d: start the plugin at least once per target", o.Publish))
	}
	if o.Claims < 1 {
		errs = append(errs, fmt.Errorf("claims %d: prepare at least one claim per kind", o.Claims))
	}
	return errors.Join(errs...)
}

// Target is one measured machine in one GPU mode.
type Target struct {
	// Spec is how the target was given, e.g. "dgxa100:mig".
	Spec string
	// GPUMode is the mode given after the colon, empty for the default.
	GPUMode string
	// Node is the simulated node that runs it.
	Node nodesim.NodeSpec
}

// ParseTargets turns "dgxh100,dgxa100:mig" into targets, one node each.
func ParseTargets(list string) ([]Target, error) {
	var targets []Target
	seen := map[string]bool{}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "=") {
			return nil, fmt.Errorf("target %q: a target is machine[:gpu-mode], without a node count", part)
		}
		nodes, err := localenv.ParseNodes(part)
		if err != nil {
			return nil, err
		}
		if seen[nodes[0].Name] {
			return nil, fmt.Errorf("target %q is given twice", part)
		}
		seen[nodes[0].Name] = true
		_, mode, _ := strings.Cut(part, ":")
		targets = append(targets, Target{Spec: part, GPUMode: mode, Node: nodes[0]})
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("targets %q: no target given (example: %s)", list, DefaultTargets)
	}
	return targets, nil
}
