package nri

import (
	"context"

	"github.com/containerd/nri/pkg/api"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/cpuset"
)

// handler receives the NRI requests of one runtime connection. The
// generation tells a late request from a dropped connection apart from the
// current one, so that only the current connection's synchronisation
// enables unsolicited updates.
type handler struct {
	p   *Plugin
	gen uint64
}

// Synchronize is called once per connection, with every pod and container
// the runtime has; the answer puts each container on its cpuset.
func (h handler) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	byID := make(map[string]*api.PodSandbox, len(pods))
	for _, pod := range pods {
		byID[pod.GetId()] = pod
	}
	var live []*container
	for _, c := range ctrs {
		// A stopped container cannot be updated and holds no CPUs.
		if c.GetState() == api.ContainerState_CONTAINER_STOPPED {
			continue
		}
		live = append(live, fromNRI(byID[c.GetPodSandboxId()], c))
	}

	p := h.p
	p.mu.Lock()
	if h.gen != p.gen {
		// A late request on a dropped connection; the current one brings
		// its own synchronisation.
		p.mu.Unlock()
		return nil, nil
	}
	ups, decisions := p.state.synchronize(newView(p.assignments), live)
	p.synced = true
	p.mu.Unlock()

	for _, c := range live {
		if d, ok := decisions[c.id]; ok {
			p.logRejected(c, d)
		}
	}
	p.logger.Info("Synchronized with the container runtime", "containers", len(live), "updates", len(ups))
	return toNRI(ups, true), nil
}

// CreateContainer pins a new container to its claims' CPUs or to the
// shared pool, and moves existing containers off CPUs that just became
// exclusive.
func (h handler) CreateContainer(_ context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	c := fromNRI(pod, ctr)
	p := h.p
	p.mu.Lock()
	d, ok, others := p.state.create(newView(p.assignments), c)
	p.mu.Unlock()

	p.logRejected(c, d)
	if !ok {
		p.logger.V(2).Info("Leaving cpuset of new container alone: online CPUs unknown or shared pool empty", "container", c.name)
		return nil, toNRI(others, true), nil
	}
	p.logger.V(2).Info("Pinning new container", "container", c.name, "cpus", d.cpus.String(), "exclusive", d.exclusive, "moved", len(others))
	adjust := &api.ContainerAdjustment{}
	adjust.SetLinuxCPUSetCPUs(d.cpus.String())
	// Updates to other containers must not fail this container's creation:
	// one of them may be exiting right now.
	return adjust, toNRI(others, true), nil
}

// UpdateContainer keeps the plugin's cpuset when someone else changes the
// container's resources: the kubelet's static CPU manager, for one,
// rewrites cpusets from its own view, which does not include DRA claims.
// The returned update for the container itself supersedes the request.
func (h handler) UpdateContainer(_ context.Context, pod *api.PodSandbox, ctr *api.Container, res *api.LinuxResources) ([]*api.ContainerUpdate, error) {
	requested := res.GetCpu().GetCpus()
	if requested == "" {
		return nil, nil // the request leaves the cpuset alone
	}
	c := fromNRI(pod, ctr)
	p := h.p
	p.mu.Lock()
	cpus, ok := p.state.pin(newView(p.assignments), c)
	p.mu.Unlock()

	if !ok {
		return nil, nil
	}
	if req, err := cpuset.Parse(requested); err == nil && req.Equals(cpus) {
		return nil, nil
	}
	p.logger.V(2).Info("Overriding requested cpuset", "container", c.name, "requested", requested, "cpus", cpus.String())
	return toNRI([]update{{id: c.id, cpus: cpus}}, false), nil
}

// StopContainer forgets the container: a stopped container holds no CPUs
// and cannot be updated. The claim's CPUs stay exclusive until the driver
// unprepares it, which Changes reports.
func (h handler) StopContainer(_ context.Context, _ *api.PodSandbox, ctr *api.Container) ([]*api.ContainerUpdate, error) {
	h.p.forget(ctr.GetId())
	return nil, nil
}

// RemoveContainer forgets the container, in case its stop was missed.
func (h handler) RemoveContainer(_ context.Context, _ *api.PodSandbox, ctr *api.Container) error {
	h.p.forget(ctr.GetId())
	return nil
}

// RemovePodSandbox forgets whatever is left of the pod.
func (h handler) RemovePodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p := h.p
	p.mu.Lock()
	p.state.forgetSandbox(pod.GetId())
	p.mu.Unlock()
	return nil
}

// Shutdown is the runtime going away; the connection's close handler
// takes care of reconnecting.
func (h handler) Shutdown(context.Context) {
	h.p.logger.Info("Container runtime is shutting down")
}

// fromNRI converts a runtime container. pod may be nil (unknown pod): the
// container then has no pod UID and gets no exclusive CPUs.
func fromNRI(pod *api.PodSandbox, ctr *api.Container) *container {
	c := &container{
		id:      ctr.GetId(),
		sandbox: ctr.GetPodSandboxId(),
		pod:     types.UID(pod.GetUid()),
		name:    pod.GetNamespace() + "/" + pod.GetName() + "/" + ctr.GetName(),
		claims:  claimsFromEnv(ctr.GetEnv()),
		cpus:    cpuset.New(),
	}
	// An unparsable cpuset is treated as unknown, so it gets replaced.
	if cpus, err := cpuset.Parse(ctr.GetLinux().GetResources().GetCpu().GetCpus()); err == nil {
		c.cpus = cpus
	}
	return c
}

// toNRI converts updates into NRI container updates.
func toNRI(ups []update, ignoreFailure bool) []*api.ContainerUpdate {
	if len(ups) == 0 {
		return nil
	}
	out := make([]*api.ContainerUpdate, 0, len(ups))
	for _, u := range ups {
		cu := &api.ContainerUpdate{ContainerId: u.id, IgnoreFailure: ignoreFailure}
		cu.SetLinuxCPUSetCPUs(u.cpus.String())
		out = append(out, cu)
	}
	return out
}

// logRejected reports claims a container names but may not have. A forged
// or stale variable is worth an entry at the default level: it is either a
// user trying to take someone else's CPUs or a driver bug.
func (p *Plugin) logRejected(c *container, d decision) {
	for _, r := range d.rejected {
		p.logger.Info("Ignoring CPU claim named by container environment", "container", c.name,
			"podUID", c.pod, "claimUID", r.claim, "reason", r.reason)
	}
}

func (p *Plugin) forget(id string) {
	p.mu.Lock()
	p.state.forget(id)
	p.mu.Unlock()
}
