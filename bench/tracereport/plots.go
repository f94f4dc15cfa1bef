package tracereport

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/hadron-sched/hadron/bench/replay"
)

// Plot file names, relative to the report's directory.
const (
	AllocationPlot    = "allocation.png"
	PowerPlot         = "power.png"
	FragmentationPlot = "fragmentation.png"
	LatencyPlot       = "latency.png"
)

const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 5 * vg.Inch
)

// WritePlots draws the four figures into dir (which must exist) and
// returns their file names, for Markdown.
func WritePlots(dir string, res *replay.Result) ([]string, error) {
	draws := []struct {
		name string
		plot func(*replay.Result) (*plot.Plot, error)
	}{
		{AllocationPlot, allocationPlot},
		{PowerPlot, powerPlot},
		{FragmentationPlot, fragmentationPlot},
		{LatencyPlot, latencyPlot},
	}
	var names []string
	for _, d := range draws {
		p, err := d.plot(res)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", d.name, err)
		}
		if err := p.Save(plotWidth, plotHeight, filepath.Join(dir, d.name)); err != nil {
			return nil, fmt.Errorf("save %s: %w", d.name, err)
		}
		names = append(names, d.name)
	}
	return names, nil
}

// newPlot is a plot with the report's common layout.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	// Bottom right: below the rising curves of allocation and power.
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return p
}

// demandCurves adds one line per policy: value(sample) against arrived
// demand in percent.
func demandCurves(p *plot.Plot, res *replay.Result, value func(replay.Sample) float64) error {
	for i, pr := range res.Policies {
		xys := make(plotter.XYs, 0, len(pr.Samples))
		for _, s := range pr.Samples {
			v := value(s)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: 100 * s.ArrivedGPUDemand, Y: v})
		}
		if len(xys) == 0 {
			continue
		}
		if err := addLine(p, i, pr.Policy, xys); err != nil {
			return fmt.Errorf("policy %s: %w", pr.Policy, err)
		}
	}
	p.X.Min = 0
	return nil
}

// addLine adds the i-th policy's line in its colour and dash pattern.
func addLine(p *plot.Plot, i int, name string, xys plotter.XYs) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func allocationPlot(res *replay.Result) (*plot.Plot, error) {
	p := newPlot("GPU allocation against arrived GPU demand", "arrived GPU demand (% of cluster GPUs)", "GPUs allocated (% of cluster GPUs)")
	gpus := float64(res.ClusterGPUs)
	err := demandCurves(p, res, func(s replay.Sample) float64 { return 100 * ratio(s.AllocatedGPUs, gpus) })
	if err != nil {
		return nil, err
	}
	// Everything that arrived is placed: the upper bound.
	maxDemand := 100.0
	for _, pr := range res.Policies {
		if n := len(pr.Samples); n > 0 {
			maxDemand = max(maxDemand, 100*pr.Samples[n-1].ArrivedGPUDemand)
		}
	}
	ideal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 100, Y: 100}, {X: maxDemand, Y: 100}})
	if err != nil {
		return nil, err
	}
	ideal.Color = color.Gray{Y: 160}
	ideal.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(ideal)
	p.Legend.Add("all arrived demand placed", ideal)
	if referenceSetup(res) {
		if err := addPublishedPoints(p); err != nil {
			return nil, err
		}
	}
	p.Y.Min, p.Y.Max = 0, 105
	return p, nil
}

// addPublishedPoints marks the published figures, for runs of the setup
// they were measured on.
func addPublishedPoints(p *plot.Plot) error {
	var paper, ref plotter.XYs
	for _, f := range fgdPaper {
		paper = append(paper, plotter.XY{X: 100, Y: 100 * f.Allocation})
	}
	for i, d := range defaultReference.Demand {
		ref = append(ref, plotter.XY{X: 100 * d, Y: 100 * defaultReference.Allocation[i]})
	}
	for _, m := range []struct {
		name  string
		xys   plotter.XYs
		shape draw.GlyphDrawer
	}{
		{"FGD paper: Random, BestFit, FGD at 100%", paper, draw.CrossGlyph{}},
		{"default profile, measured reference", ref, draw.RingGlyph{}},
	} {
		s, err := plotter.NewScatter(m.xys)
		if err != nil {
			return err
		}
		s.Shape = m.shape
		s.Radius = vg.Points(4)
		p.Add(s)
		p.Legend.Add(m.name, s)
	}
	return nil
}

func powerPlot(res *replay.Result) (*plot.Plot, error) {
	p := newPlot("Modelled power against arrived GPU demand", "arrived GPU demand (% of cluster GPUs)", "modelled power, GPUs and CPU packages (kW)")
	err := demandCurves(p, res, func(s replay.Sample) float64 { return s.PowerWatts / 1000 })
	if err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}

func fragmentationPlot(res *replay.Result) (*plot.Plot, error) {
	p := newPlot("GPU fragmentation against arrived GPU demand", "arrived GPU demand (% of cluster GPUs)", "fragmented GPUs (% of cluster GPUs)")
	gpus := float64(res.ClusterGPUs)
	err := demandCurves(p, res, func(s replay.Sample) float64 { return 100 * ratio(s.FragmentedGPUs, gpus) })
	if err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}

// latencyPlot draws each policy's distribution of per-pod latencies as a
// cumulative curve, on a logarithmic axis when they span two decades.
func latencyPlot(res *replay.Result) (*plot.Plot, error) {
	p := newPlot("Per-pod latency, creation to bound or unschedulable", "latency (ms)", "pods (%)")
	lo, hi := math.Inf(1), 0.0
	for i, pr := range res.Policies {
		lat := slices.Clone(pr.Latencies)
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		xys := make(plotter.XYs, 0, len(lat))
		for j, d := range lat {
			ms := float64(d) / float64(time.Millisecond)
			lo, hi = min(lo, ms), max(hi, ms)
			xys = append(xys, plotter.XY{X: ms, Y: 100 * float64(j+1) / float64(len(lat))})
		}
		if err := addLine(p, i, pr.Policy, xys); err != nil {
			return nil, fmt.Errorf("policy %s: %w", pr.Policy, err)
		}
	}
	if lo > 0 && hi/lo >= 100 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Y.Min, p.Y.Max = 0, 100
	return p, nil
}
