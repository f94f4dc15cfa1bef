package cpu

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"k8s.io/utils/cpuset"

	"github.com/hadron-sched/hadron/pkg/simhw"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// pinningPolicy picks n CPUs of a NUMA node out of free.
type pinningPolicy func(l *layout, free cpuset.CPUSet, n int) (cpuset.CPUSet, error)

func hadronPolicy(l *layout, free cpuset.CPUSet, n int) (cpuset.CPUSet, error) {
	c, err := l.choose(free, n)
	return c.CPUs, err
}

// lowestFree is the naive baseline: the n lowest-numbered free CPUs, as a
// static CPU manager without topology awareness would hand them out.
func lowestFree(_ *layout, free cpuset.CPUSet, n int) (cpuset.CPUSet, error) {
	list := free.List()
	if len(list) < n {
		return cpuset.New(), fmt.Errorf("%d CPUs asked for, %d free", n, len(list))
	}
	return cpuset.New(list[:n]...), nil
}

// pinningQuality replays a seeded churn of CPU claims (sizes 1-32, half of
// the steps releasing a random claim) against one machine's NUMA nodes,
// placing each claim on the first node with room as the allocator's
// first-fit does, and counts how well each policy's CPUs fit the cache
// topology.
type pinningQuality struct {
	claims int
	// Claims whose size is a multiple of the threads per core can be whole
	// cores; of those, wholeCores got them.
	couldBeWhole, wholeCores int
	// Claims no larger than an L3 group can sit in one; of those, oneL3
	// did, and of the ones that could also be whole cores, both got both.
	fitsOneL3, oneL3, couldBeBoth, both int
}

func replayPinning(topo *topology.Topology, policy pinningPolicy, seed uint64, steps int) (pinningQuality, error) {
	f, err := NewFamily("bench", topo, Options{})
	if err != nil {
		return pinningQuality{}, err
	}
	var nodes []*numaNode
	for id := 0; id < len(f.nodes); id++ {
		nodes = append(nodes, f.nodes[id])
	}
	// The largest L3 group of the machine: claims up to its size can fit
	// in one group.
	group := 0
	for _, n := range nodes {
		for _, g := range n.layout.groups {
			size := 0
			for _, co := range g.cores {
				size += len(co.threads)
			}
			group = max(group, size)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	sizes := []int{1, 2, 2, 4, 4, 4, 8, 8, 8, 16, 16, 32}
	held := cpuset.New()
	var active []cpuset.CPUSet
	var q pinningQuality
	for step := 0; step < steps; step++ {
		if len(active) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(active))
			held = held.Difference(active[i])
			active = append(active[:i], active[i+1:]...)
			continue
		}
		n := sizes[rng.IntN(len(sizes))]
		for _, node := range nodes {
			free := node.offered.Difference(held)
			if free.Size() < n {
				continue
			}
			cpus, err := policy(node.layout, free, n)
			if err != nil {
				return q, err
			}
			held = held.Union(cpus)
			active = append(active, cpus)
			even := n%threadsPerCore(node.layout.groups[0]) == 0
			whole := even && node.layout.wholeCores(cpus)
			one := l3Groups(node.layout, cpus) == 1
			q.claims++
			if even {
				q.couldBeWhole++
			}
			if whole {
				q.wholeCores++
			}
			if n <= group {
				q.fitsOneL3++
				if one {
					q.oneL3++
				}
				if even {
					q.couldBeBoth++
					if whole && one {
						q.both++
					}
				}
			}
			break
		}
	}
	return q, nil
}

func l3Groups(l *layout, cpus cpuset.CPUSet) int {
	n := 0
	for _, g := range l.groups {
		for _, co := range g.cores {
			if !cpuset.New(co.threads...).Intersection(cpus).IsEmpty() {
				n++
				break
			}
		}
	}
	return n
}

// BenchmarkPinningQuality reports, per simulated machine and policy, the
// share of CPU claims that got whole physical cores (of those whose size
// allows it: a multiple of the threads per core), the share that got one
// L3 group (of those no larger than a group), and the share that got both
// (of those that allow both). The churn leaves fragments that a careless
// policy spreads claims over.
func BenchmarkPinningQuality(b *testing.B) {
	for _, machine := range []string{"dgxh100", "dgxa100", "workstation"} {
		m, err := simhw.Load(machine)
		if err != nil {
			b.Fatal(err)
		}
		root := filepath.Join(b.TempDir(), machine)
		if err := m.WriteSysfs(root); err != nil {
			b.Fatal(err)
		}
		topo, err := topology.Discover(root)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range []struct {
			name   string
			policy pinningPolicy
		}{{"hadron", hadronPolicy}, {"lowest-free", lowestFree}} {
			b.Run(machine+"/"+p.name, func(b *testing.B) {
				var q pinningQuality
				for i := 0; i < b.N; i++ {
					if q, err = replayPinning(topo, p.policy, 42, 2000); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(q.claims), "claims")
				b.ReportMetric(100*float64(q.wholeCores)/float64(max(q.couldBeWhole, 1)), "%whole-cores")
				b.ReportMetric(100*float64(q.oneL3)/float64(max(q.fitsOneL3, 1)), "%one-L3")
				b.ReportMetric(100*float64(q.both)/float64(max(q.couldBeBoth, 1)), "%whole-one-L3")
			})
		}
	}
}
