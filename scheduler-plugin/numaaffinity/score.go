package numaaffinity

import (
	"context"
	"math"
	"strconv"

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

// alignmentScore blends the NUMA and PCIe-root fits of the demand on n.
func alignmentScore(ctx context.Context, n *model.Node, d *model.Demand, pcieWeight float64) (int64, error) {
	numa, err := bestFit(ctx, n, d, func(dev *model.Device) (string, bool) {
		if dev.NUMA == model.NoNUMA {
			return "", false
		}
		return strconv.Itoa(dev.NUMA), true
	})
	if err != nil {
		return 0, err
	}
	pcie, err := bestFit(ctx, n, d, func(dev *model.Device) (string, bool) {
		return dev.PCIeRoot, dev.PCIeRoot != ""
	})
	if err != nil {
		return 0, err
	}
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
func bestFit(ctx context.Context, n *model.Node, d *model.Demand, group func(*model.Device) (string, bool)) (fit, error) {
	served := map[string]int64{}
	var requested int64
	for ri := range d.Requests {
		r := &d.Requests[ri]
		if r.All {
			continue
		}
		matched, err := n.Match(ctx, r)
		if err != nil {
			return fit{}, err
		}
		free := map[string]int64{}
		grouped := false
		for _, di := range matched {
			g, ok := group(&n.Devices[di])
			if !ok {
				continue
			}
			grouped = true
			if n.CanTake(di, r) {
				free[g]++
			}
		}
		if !grouped {
			continue
		}
		requested += r.Count
		for g, c := range free {
			served[g] += min(c, r.Count)
		}
	}
	best := fit{requested: requested}
	for _, s := range served {
		best.served = max(best.served, s)
	}
	return best, nil
}
