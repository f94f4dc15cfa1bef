package topology

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/utils/cpuset"
)

// Render writes a text diagram of t: per socket and NUMA node the CPUs,
// cores and threads, L3 groups, memory, GPUs and NICs; then the devices
// without a node, the NUMA distance matrix and the warnings. The output
// depends on t alone (not on map order or the root it was read from), so
// it can be compared across runs.
func Render(w io.Writer, t *Topology) error {
	var b strings.Builder
	renderSummary(&b, t)
	// A node is drawn under the first socket holding its CPUs; a node
	// spanning sockets (virtual machines get such layouts) is referred to
	// from the others.
	placed := map[int]int{}
	groups := t.L3Groups()
	for _, s := range t.Sockets {
		fmt.Fprintf(&b, "\nsocket %s: CPUs %s\n", idString(s.ID), s.CPUs.String())
		for _, n := range t.Nodes {
			in := n.CPUs.Intersection(s.CPUs)
			if in.IsEmpty() {
				continue
			}
			if first, ok := placed[n.ID]; ok {
				fmt.Fprintf(&b, "  NUMA node %d: CPUs %s (node shown under socket %s)\n", n.ID, in.String(), idString(first))
				continue
			}
			placed[n.ID] = s.ID
			renderNode(&b, t, &n, groups)
		}
		if lost := nodeless(t, s.CPUs); !lost.IsEmpty() {
			fmt.Fprintf(&b, "  CPUs without a NUMA node: %s\n", lost.String())
		}
	}
	var memoryOnly []NUMANode
	for _, n := range t.Nodes {
		if _, ok := placed[n.ID]; !ok {
			memoryOnly = append(memoryOnly, n)
		}
	}
	if len(memoryOnly) > 0 {
		b.WriteString("\nNUMA nodes without CPUs:\n")
		for _, n := range memoryOnly {
			renderNode(&b, t, &n, groups)
		}
	}
	renderDevices(&b, "\ndevices without a NUMA node:\n", t, Unknown)
	renderDistances(&b, t)
	if len(t.Warnings) > 0 {
		b.WriteString("\nwarnings:\n")
		for _, warning := range t.Warnings {
			fmt.Fprintf(&b, "  %s\n", warning)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("rendering topology: %w", err)
	}
	return nil
}

func renderSummary(b *strings.Builder, t *Topology) {
	if t.CPUModel != "" {
		fmt.Fprintf(b, "CPU: %s\n", t.CPUModel)
	}
	fmt.Fprintf(b, "%s, %s, %s, %s (%s per core), %s, %s\n",
		plural(len(t.Sockets), "socket"), plural(len(t.Nodes), "NUMA node"), plural(t.Cores(), "core"),
		plural(len(t.CPUs), "CPU"), plural(t.ThreadsPerCore(), "thread"), plural(len(t.GPUs), "GPU"), plural(len(t.NICs), "NIC"))
}

// renderNode draws one NUMA node with its share of the L3 groups.
func renderNode(b *strings.Builder, t *Topology, n *NUMANode, groups map[int]cpuset.CPUSet) {
	var cpus []CPU
	for _, c := range t.CPUs {
		if c.Node == n.ID {
			cpus = append(cpus, c)
		}
	}
	mem := "memory unknown"
	if n.MemoryBytes > 0 {
		mem = "memory " + gib(n.MemoryBytes)
	}
	if len(cpus) == 0 {
		fmt.Fprintf(b, "  NUMA node %d: no CPUs, %s\n", n.ID, mem)
	} else {
		fmt.Fprintf(b, "  NUMA node %d: CPUs %s (%s, %s), %s\n", n.ID, n.CPUs.String(),
			plural(countCores(cpus), "core"), plural(len(cpus), "thread"), mem)
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		in := groups[g].Intersection(n.CPUs)
		if in.IsEmpty() {
			continue
		}
		fmt.Fprintf(b, "    L3 %d: CPUs %s", g, in.String())
		if others := nodesOf(t, groups[g].Difference(n.CPUs)); len(others) > 0 {
			fmt.Fprintf(b, " (shared with node %s)", strings.Join(others, ", "))
		}
		b.WriteByte('\n')
	}
	renderDevices(b, "", t, n.ID)
}

// renderDevices lists the GPUs and NICs of one NUMA node, after header
// when there are any.
func renderDevices(b *strings.Builder, header string, t *Topology, node int) {
	var lines []string
	for _, g := range t.GPUs {
		if g.NUMANode == node {
			lines = append(lines, "GPU "+deviceFields(&g))
		}
	}
	for _, n := range t.NICs {
		if n.NUMANode == node {
			lines = append(lines, "NIC "+nicFields(&n))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString(header)
	for _, l := range lines {
		fmt.Fprintf(b, "    %s\n", l)
	}
}

func deviceFields(d *PCIDevice) string {
	f := []string{d.Address, fmt.Sprintf("[%04x:%04x]", d.Vendor, d.Device)}
	if name := strings.TrimSpace(d.VendorName + " " + d.ProductName); name != "" {
		f = append(f, name)
	}
	f = append(f, "pcieRoot="+orUnknown(d.PCIeRoot))
	if d.Driver != "" {
		f = append(f, "driver="+d.Driver)
	}
	return strings.Join(f, " ")
}

func nicFields(n *NIC) string {
	f := []string{deviceFields(&n.PCIDevice)}
	if n.Interface != "" {
		f = append(f, "if="+n.Interface)
	}
	if n.SpeedMbps > 0 {
		f = append(f, "speed="+strconv.FormatInt(n.SpeedMbps, 10)+"Mb/s")
	}
	if r := n.RDMA; r != nil {
		f = append(f, "rdma="+r.Name, "link="+orUnknown(string(r.LinkLayer)))
		if r.RateGbps > 0 {
			f = append(f, "rate="+strconv.FormatInt(r.RateGbps, 10)+"Gb/s")
		}
		if r.Uverbs != "" {
			f = append(f, "uverbs="+r.Uverbs)
		}
	}
	return strings.Join(f, " ")
}

// renderDistances writes the SLIT matrix when there is more than one node.
func renderDistances(b *strings.Builder, t *Topology) {
	if len(t.Nodes) < 2 {
		return
	}
	b.WriteString("\nNUMA distances:\n      ")
	for _, n := range t.Nodes {
		fmt.Fprintf(b, "%5d", n.ID)
	}
	b.WriteByte('\n')
	for _, from := range t.Nodes {
		fmt.Fprintf(b, "%6d", from.ID)
		for _, to := range t.Nodes {
			if dist, ok := from.Distances[to.ID]; ok {
				fmt.Fprintf(b, "%5d", dist)
			} else {
				fmt.Fprintf(b, "%5s", "?")
			}
		}
		b.WriteByte('\n')
	}
}

// nodeless returns the CPUs of set whose NUMA node is unknown.
func nodeless(t *Topology, set cpuset.CPUSet) cpuset.CPUSet {
	var ids []int
	for _, c := range t.CPUs {
		if c.Node == Unknown && set.Contains(c.ID) {
			ids = append(ids, c.ID)
		}
	}
	return cpuset.New(ids...)
}

// nodesOf returns the ids of the NUMA nodes holding CPUs of set.
func nodesOf(t *Topology, set cpuset.CPUSet) []string {
	seen := map[int]bool{}
	for _, id := range set.List() {
		if c := t.CPU(id); c != nil {
			seen[c.Node] = true
		}
	}
	out := make([]string, 0, len(seen))
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, idString(n))
	}
	return out
}

func idString(id int) string {
	if id == Unknown {
		return "?"
	}
	return strconv.Itoa(id)
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// gib formats a memory size in GiB with one decimal.
func gib(bytes int64) string {
	return strconv.FormatFloat(float64(bytes)/(1<<30), 'f', 1, 64) + " GiB"
}
