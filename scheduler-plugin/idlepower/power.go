package idlepower

import (
	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
)

// watts is a device's power at allocated fraction f.
func (m powerModel) watts(idle, maxW, f float64) float64 {
	if f <= 0 {
		if m.idleCharged {
			return 0
		}
		return idle
	}
	return idle + (maxW-idle)*(m.floor+(1-m.floor)*min(f, 1)*m.utilization)
}

// marginal is the power a placement adds to its node in watts: the GPUs
// and CPU packages it touches, after minus before.
func (m powerModel) marginal(p *model.Placement) float64 {
	return m.added(p, func(delta, _ float64) float64 { return delta })
}

// wakeCost is what Score ranks placements by: the power each touched
// device gains as a share of that device's maximum power, summed, in
// thousandths. Waking a device costs most of its range and adding work
// to an active one a little, on any model; but between models nothing
// is preferred, because a job's energy is its power times its duration
// and a low-power GPU runs a job for longer. Ranking by watts instead
// steers every whole-GPU pod to the lowest-power model, fills those
// nodes' CPUs and strands the GPUs there that pods asking for that model
// need (docs/scheduler.md).
func (m powerModel) wakeCost(p *model.Placement) float64 {
	return m.added(p, func(delta, maxW float64) float64 { return 1000 * delta / maxW })
}

// added sums, over the GPUs and CPU packages a placement touches, what
// each adds, measured by unit from its added watts and maximum watts.
func (m powerModel) added(p *model.Placement, unit func(delta, maxW float64) float64) float64 {
	n := p.Node
	gpus := map[int]bool{}
	packages := map[cpuPackage]bool{}
	for _, pick := range p.Picks {
		d := &n.Devices[pick.Device]
		if d.GPU >= 0 {
			gpus[d.GPU] = true
		}
		if d.Kind == model.KindCPU {
			packages[packageOf(d)] = true
		}
	}
	var total float64
	for gi := range gpus {
		g := &n.GPUs[gi]
		if g.MaxWatts <= 0 {
			continue
		}
		total += unit(m.watts(g.IdleWatts, g.MaxWatts, n.PowerFraction(gi, p.GPUUse[gi]))-
			m.watts(g.IdleWatts, g.MaxWatts, n.PowerFraction(gi, n.GPUUse[gi])), g.MaxWatts)
	}
	for pkg := range packages {
		if delta, maxW := m.packageDelta(p, pkg); maxW > 0 {
			total += unit(delta, maxW)
		}
	}
	return total
}

// cpuPackage names a CPU package: its socket, or, when the socket is
// unknown, the NUMA node standing in for it.
type cpuPackage struct{ socket, numa int }

func packageOf(d *model.Device) cpuPackage {
	if d.Socket >= 0 {
		return cpuPackage{socket: d.Socket, numa: model.NoNUMA}
	}
	return cpuPackage{socket: -1, numa: d.NUMA}
}

// packageDelta is what a placement adds to one CPU package (from its
// fraction of busy CPUs, over all the package's NUMA nodes, before and
// after), and the package's maximum power; 0, 0 without power figures.
func (m powerModel) packageDelta(p *model.Placement, pkg cpuPackage) (delta, maxWatts float64) {
	n := p.Node
	var idle, maxW float64
	var total, before, after int64
	for di := range n.Devices {
		d := &n.Devices[di]
		if d.Kind != model.KindCPU || packageOf(d) != pkg {
			continue
		}
		if d.MaxWatts > 0 && maxW == 0 {
			idle, maxW = d.IdleWatts, d.MaxWatts
		}
		total += d.CapacityOf(attrs.CPUs)
		before += n.ConsumedOf(di, n.Use, attrs.CPUs)
		after += n.ConsumedOf(di, p.Use, attrs.CPUs)
	}
	if maxW <= 0 || total <= 0 {
		return 0, 0
	}
	return m.watts(idle, maxW, float64(after)/float64(total)) - m.watts(idle, maxW, float64(before)/float64(total)), maxW
}
