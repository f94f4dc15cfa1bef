package trace

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Mode says how a workload's events are generated.
type Mode string

const (
	// DemandMode is the method of the openb paper and its follow-ups:
	// pods arrive in a seeded random order, cycling through the pod list
	// (a fresh shuffle per pass), until the arrived GPU demand reaches
	// Options.TargetDemand of the cluster's GPUs; nothing departs.
	DemandMode Mode = "demand"
	// DeparturesMode replays the trace's own times: each pod arrives at
	// its creation_time and departs at its deletion_time.
	DeparturesMode Mode = "departures"
)

// Defaults and bounds of Options.
const (
	DefaultTargetDemand = 1.3
	maxTargetDemand     = 100
	// maxEvents bounds a workload, so that a target far above what the
	// pod list's GPU demand reaches in reasonable time fails instead of
	// filling memory.
	maxEvents = 10_000_000
)

// Random streams, one per use, so that changing how one thing is drawn
// leaves the others as they were for the same seed.
const (
	streamSampling = iota + 1
	streamArrivals
	streamTenants
)

// Options shape a workload. The zero value (but for the seed, which the
// caller should choose and report) is a demand-mode workload over the
// whole cluster with the default tenants.
type Options struct {
	Seed int64
	// Mode is DemandMode (the default) or DeparturesMode.
	Mode Mode
	// TargetDemand is, in demand mode, the arrived GPU demand at which
	// arrivals stop, as a share of the cluster's GPUs; 0 means
	// DefaultTargetDemand.
	TargetDemand float64
	// SampleNodes, when positive and below the node count, keeps that
	// many nodes, stratified by GPU model (seeded; every model present
	// keeps at least one node). Demand is relative to the sampled
	// cluster's GPUs.
	SampleNodes int
	// GPUNodesOnly drops CPU-only nodes (before sampling).
	GPUNodesOnly bool
	// Tenants replaces DefaultTenants.
	Tenants []TenantSpec
}

func (o Options) withDefaults() (Options, error) {
	if o.Mode == "" {
		o.Mode = DemandMode
	}
	if o.Mode != DemandMode && o.Mode != DeparturesMode {
		return o, fmt.Errorf("mode %q is not %q or %q", o.Mode, DemandMode, DeparturesMode)
	}
	if o.TargetDemand == 0 {
		o.TargetDemand = DefaultTargetDemand
	}
	if math.IsNaN(o.TargetDemand) || o.TargetDemand < 0 || o.TargetDemand > maxTargetDemand {
		return o, fmt.Errorf("target demand %v is out of range (0, %d]", o.TargetDemand, maxTargetDemand)
	}
	if o.SampleNodes < 0 {
		return o, fmt.Errorf("sample size %d is negative", o.SampleNodes)
	}
	if o.Tenants == nil {
		o.Tenants = DefaultTenants()
	}
	return o, validateTenants(o.Tenants)
}

// BuildWorkload turns a node list and a pod list into a replay workload.
// The result depends only on its arguments: the same nodes, pods and
// options (seed included) give an identical Workload.
func BuildWorkload(nodes []Node, pods []Pod, opts Options) (*Workload, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("build workload: the pod list is empty")
	}
	for _, p := range pods {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("build workload: %w", err)
		}
	}
	selected, notes, err := selectNodes(nodes, opts)
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	cluster, clusterNotes, err := BuildCluster(selected)
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	w := &Workload{Nodes: cluster, ClusterGPUs: clusterGPUs(selected)}
	w.Notes = append(w.Notes, fmt.Sprintf("cluster: %d nodes, %d GPUs", len(cluster), w.ClusterGPUs))
	w.Notes = append(w.Notes, notes...)
	w.Notes = append(w.Notes, clusterNotes...)
	tenants, tenantNotes, err := buildTenants(opts.Tenants, w.ClusterGPUs)
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	w.Tenants = tenants
	w.Notes = append(w.Notes, tenantNotes...)

	picker := newTenantPicker(opts.Tenants, opts.Seed)
	switch opts.Mode {
	case DemandMode:
		w.Events, err = demandEvents(pods, w.ClusterGPUs, opts, picker)
		if err == nil {
			w.Notes = append(w.Notes, fmt.Sprintf("demand mode (seed %d): %d arrivals in seeded random order, cycling through the %d pods with a fresh shuffle per pass, until arrived GPU demand reaches %.0f%% of the cluster's GPUs; CPU-only pods arrive too; no departures",
				opts.Seed, len(w.Events), len(pods), 100*opts.TargetDemand))
		}
	case DeparturesMode:
		w.Events, err = departureEvents(pods, w.ClusterGPUs, picker)
		if err == nil {
			w.Notes = append(w.Notes, fmt.Sprintf("departures mode: each of the %d pods arrives at its creation_time and departs at its deletion_time (trace seconds); at equal times departures come first, then file order, and a pod created and deleted at once departs right after it arrives",
				len(pods)))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	w.Notes = append(w.Notes, "event IDs are p-NNNNNN in arrival order; a trace pod that arrives twice gets two IDs")
	return w, nil
}

// eventID names the pod of the n-th arrival (0-based).
func eventID(n int) string {
	return fmt.Sprintf("p-%06d", n)
}

// demandShare is milli-GPU demand as a share of the cluster's GPUs.
func demandShare(milli int64, gpus int) float64 {
	if gpus == 0 {
		return 0
	}
	return float64(milli) / 1000 / float64(gpus)
}

func demandEvents(pods []Pod, gpus int, opts Options, picker *tenantPicker) ([]Event, error) {
	if gpus == 0 {
		return nil, fmt.Errorf("demand mode needs GPUs, and the cluster has none")
	}
	var perPass int64
	for _, p := range pods {
		perPass += p.GPUMilliDemand()
	}
	if perPass == 0 {
		return nil, fmt.Errorf("demand mode needs GPU pods, and the pod list has none")
	}
	target := opts.TargetDemand * float64(gpus) * 1000
	if passes := target / float64(perPass); passes*float64(len(pods)) > maxEvents {
		return nil, fmt.Errorf("target demand %v needs about %.0f passes over the %d pods, more than %d events", opts.TargetDemand, math.Ceil(passes), len(pods), maxEvents)
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), streamArrivals))
	var (
		events  []Event
		arrived int64
	)
	order := make([]int, len(pods))
	for float64(arrived) < target {
		for i := range order {
			order[i] = i
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			arrived += pods[i].GPUMilliDemand()
			n := len(events)
			events = append(events, Event{
				Kind:             Arrival,
				Pod:              pods[i],
				ID:               eventID(n),
				Tenant:           picker.pick(),
				Time:             int64(n),
				ArrivedGPUDemand: demandShare(arrived, gpus),
			})
			if float64(arrived) >= target {
				break
			}
		}
	}
	return events, nil
}

// Ranks of events at equal trace times.
const (
	rankDeparture = iota
	rankArrival
	// rankInstantDeparture: a pod deleted when it was created departs
	// right after its own arrival, never before it.
	rankInstantDeparture
)

func departureEvents(pods []Pod, gpus int, picker *tenantPicker) ([]Event, error) {
	type step struct {
		time int64
		rank int
		pod  int
	}
	steps := make([]step, 0, 2*len(pods))
	for i, p := range pods {
		if !p.HasTimes {
			return nil, fmt.Errorf("departures mode needs creation and deletion times, and pod %q (line %d) has none (a pod list without the time columns)", p.Name, p.Line)
		}
		departure := step{p.DeletionTime, rankDeparture, i}
		if p.DeletionTime == p.CreationTime {
			departure.rank = rankInstantDeparture
		}
		steps = append(steps, step{p.CreationTime, rankArrival, i}, departure)
	}
	slices.SortFunc(steps, func(a, b step) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.rank, b.rank),
			cmp.Compare(pods[a.pod].Line, pods[b.pod].Line), cmp.Compare(a.pod, b.pod))
	})
	events := make([]Event, 0, len(steps))
	ids := make([]string, len(pods))
	tenants := make([]string, len(pods))
	var arrived int64
	next := 0
	for _, s := range steps {
		p := pods[s.pod]
		e := Event{Kind: Departure, Pod: p, Time: s.time}
		if s.rank == rankArrival {
			e.Kind = Arrival
			ids[s.pod], tenants[s.pod] = eventID(next), picker.pick()
			next++
			arrived += p.GPUMilliDemand()
		}
		e.ID, e.Tenant = ids[s.pod], tenants[s.pod]
		e.ArrivedGPUDemand = demandShare(arrived, gpus)
		events = append(events, e)
	}
	return events, nil
}
