package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Ports returns the loopback ports used by the cluster's components.
func Ports(c *Cluster) []int { return c.ports.all() }

// PIDs returns the process ids of the running components.
func PIDs(c *Cluster) []int {
	var pids []int
	for _, p := range c.running() {
		pids = append(pids, p.pid())
	}
	return pids
}

// ChildProcesses lists the processes whose parent is this process, as
// "pid (comm)".
func ChildProcesses() []string {
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{err.Error()}
	}
	var children []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			children = append(children, fmt.Sprintf("%d %s", pid, s[strings.IndexByte(s, '('):i+1]))
		}
	}
	return children
}
