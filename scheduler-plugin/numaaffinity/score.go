package numaaffinity

import (
	"context"
	"math"
	"slices"

	fwk "k8s.io/kube-scheduler/framework"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// fit is how many of the requested devices the best group (NUMA node or
// PCIe root) of a node can serve, out of how many were requested.
type fit struct{ served, requested int64 }

func (f fit) ratio() float64 {
	if f.requested == 0 {
		return 1
	}
	return float64(f.served) / float64(f.requested)
}

// candidates are the devices of a node one request could use: those that
// pass its selectors, and of these the ones with room for it now.
type candidates struct {
	count         int64
	matched, free []int
}

// alignmentScore blends the NUMA and PCIe-root fits of the demand on n.
func alignmentScore(ctx context.Context, n *model.Node, d *model.Demand, pcieWeight float64) (int64, error) {
	var reqs []candidates
	for ri := range d.Requests {
		r := &d.Requests[ri]
		if r.All {
			continue
		}
		matched, err := n.Match(ctx, r)
		if err != nil {
			return 0, err
		}
		c := candidates{count: r.Count, matched: matched}
		for _, di := range matched {
			if n.CanTake(di, r) {
				c.free = append(c.free, di)
			}
		}
		reqs = append(reqs, c)
	}
	numa := bestFit(n, reqs, func(dev *model.Device) (int, bool) {
		return dev.NUMA, dev.NUMA != model.NoNUMA
	})
	pcie := bestFit(n, reqs, func(dev *model.Device) (string, bool) {
		return dev.PCIeRoot, dev.PCIeRoot != ""
	})
	if numa.requested == 0 {
		return 0, nil
	}
	pcieRatio := pcie.ratio()
	if pcie.requested == 0 {
		// No device of the pod sits on a PCIe root: only NUMA counts.
		pcieRatio = numa.ratio()
	}
	score := (1-pcieWeight)*numa.ratio() + pcieWeight*pcieRatio
	return int64(math.Round(score * float64(fwk.MaxScore))), nil
}

// bestFit finds the group (by the group function; devices outside any
// group serve no one) that serves most of the requested devices. Requests
// whose matching devices have no group at all are not counted.
func bestFit[K comparable](n *model.Node, reqs []candidates, group func(*model.Device) (K, bool)) fit {
	served := map[K]int64{}
	var requested int64
	for _, c := range reqs {
		grouped := slices.ContainsFunc(c.matched, func(di int) bool {
			_, ok := group(&n.Devices[di])
			return ok
		})
		if !grouped {
			continue
		}
		requested += c.count
		free := map[K]int64{}
		for _, di := range c.free {
			if g, ok := group(&n.Devices[di]); ok {
				free[g]++
			}
		}
		for g, f := range free {
			served[g] += min(f, c.count)
		}
	}
	best := fit{requested: requested}
	for _, s := range served {
		best.served = max(best.served, s)
	}
	return best
}
