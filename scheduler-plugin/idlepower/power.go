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

// marginal is the power a placement adds to its node: the GPUs and CPU
// packages it touches, after minus before.
func (m powerModel) marginal(p *model.Placement) float64 {
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
		total += m.watts(g.IdleWatts, g.MaxWatts, n.PowerFraction(gi, p.GPUUse[gi])) -
			m.watts(g.IdleWatts, g.MaxWatts, n.PowerFraction(gi, n.GPUUse[gi]))
	}
	for pkg := range packages {
		total += m.packageDelta(p, pkg)
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

// packageDelta is what a placement adds to one CPU package: its fraction
// of busy CPUs, over all the package's NUMA nodes, before and after.
func (m powerModel) packageDelta(p *model.Placement, pkg cpuPackage) float64 {
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
		return 0
	}
	return m.watts(idle, maxW, float64(after)/float64(total)) - m.watts(idle, maxW, float64(before)/float64(total))
}
