package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/utils/cpuset"
)

// Discover reads the layout of the machine whose file system is mounted at
// root: "" or "/" for the host itself, "/host" for a container that mounts
// the host's root there, or the directory of a simulated machine's tree or
// of an unpacked snapshot.
//
// It fails only when nothing usable can be read: root is not a directory,
// or not a single online CPU can be found. Everything else that cannot be
// read is left out or marked Unknown and listed in Topology.Warnings, for
// the caller to log.
func Discover(root string) (*Topology, error) {
	if root == "" {
		root = "/"
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("discovering topology: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("discovering topology: root %s is not a directory", root)
	}

	d := &discovery{r: &reader{root: root}, t: &Topology{Root: root}}
	d.online = d.onlineCPUs()
	if d.online.IsEmpty() {
		return nil, fmt.Errorf("discovering topology under %s: no online CPU found%s", root, summary(d.r.warnings))
	}
	d.readCPUs()
	d.readNodes()
	d.readL3()
	d.buildSockets()
	d.t.CPUModel = d.cpuModel()
	d.readPCI()
	d.t.Warnings = compact(d.r.warnings)
	return d.t, nil
}

// discovery is the state of one Discover call.
type discovery struct {
	r *reader
	t *Topology
	// online is the set of online CPUs; t.CPUs holds exactly these.
	online cpuset.CPUSet
}

// summary lists the first few warnings for an error message, so that
// "no online CPU" says which files were missing.
func summary(ws []Warning) string {
	if len(ws) == 0 {
		return ""
	}
	const shown = 3
	parts := make([]string, 0, shown+1)
	for i, w := range compact(ws) {
		if i == shown {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, w.String())
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
