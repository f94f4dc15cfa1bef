package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/hadron-sched/hadron/pkg/quota"
)

// TenantSpec describes one synthetic tenant.
type TenantSpec struct {
	// Name is the Tenant's name and its namespace's (a DNS label).
	Name string
	// Weight is the tenant's relative share of arriving pods.
	Weight float64
	// GPUShare is the tenant's GPU quota as a share of the cluster's GPUs
	// (0.45 = 45 %).
	GPUShare float64
}

// DefaultTenants are four tenants whose quotas add up to 120 % of the
// cluster's GPUs: each quota sits a little above the tenant's share of
// arrivals, so that quotas bind for the larger tenants once arrived
// demand passes about 110 % of the cluster while the cluster can still
// fill up.
func DefaultTenants() []TenantSpec {
	return []TenantSpec{
		{Name: "physics", Weight: 0.4, GPUShare: 0.45},
		{Name: "vision", Weight: 0.3, GPUShare: 0.35},
		{Name: "genomics", Weight: 0.2, GPUShare: 0.25},
		{Name: "teaching", Weight: 0.1, GPUShare: 0.15},
	}
}

// maxGPUShare bounds one tenant's quota share (a quota of ten clusters is
// already no limit at all).
const maxGPUShare = 10

// maxWeight bounds a tenant's weight so that the weights' sum stays
// finite.
const maxWeight = 1e9

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func validateTenants(specs []TenantSpec) error {
	if len(specs) == 0 {
		return fmt.Errorf("tenants: none given")
	}
	seen := map[string]bool{}
	for i, s := range specs {
		switch {
		case !dnsLabel.MatchString(s.Name):
			return fmt.Errorf("tenants[%d]: name %q is not a DNS label (lower-case letters, digits and '-', at most 63)", i, s.Name)
		case seen[s.Name]:
			return fmt.Errorf("tenants[%d]: name %q is given twice", i, s.Name)
		case math.IsNaN(s.Weight) || s.Weight <= 0 || s.Weight > maxWeight:
			return fmt.Errorf("tenants[%d] (%s): weight %v is out of range (0, %g]", i, s.Name, s.Weight, float64(maxWeight))
		case math.IsNaN(s.GPUShare) || s.GPUShare < 0 || s.GPUShare > maxGPUShare:
			return fmt.Errorf("tenants[%d] (%s): GPU share %v is out of range [0, %d]", i, s.Name, s.GPUShare, maxGPUShare)
		}
		seen[s.Name] = true
	}
	return nil
}

// buildTenants gives each tenant its namespace and quota labels. The GPU
// quota is in quota.hadron.dev/gpu-milli, which counts every kind of GPU
// allocation (whole GPUs at 1000, shares at their milli value), so that
// sharing pods count against it as whole-GPU pods do.
func buildTenants(specs []TenantSpec, gpus int) ([]Tenant, []string, error) {
	tenants := make([]Tenant, 0, len(specs))
	var total, weights float64
	for _, s := range specs {
		weights += s.Weight
	}
	parts := make([]string, 0, len(specs))
	for _, s := range specs {
		milli := int64(math.Floor(s.GPUShare * float64(gpus) * 1000))
		labels := map[string]string{quota.GPUMilli.Label(): strconv.FormatInt(milli, 10)}
		if _, err := quota.Parse(labels); err != nil {
			return nil, nil, fmt.Errorf("tenant %s: quota labels: %w", s.Name, err)
		}
		tenants = append(tenants, Tenant{Name: s.Name, Namespace: s.Name, Quota: labels})
		total += s.GPUShare
		parts = append(parts, fmt.Sprintf("%s %.0f%% of arrivals, quota %.0f%% = %d milli-GPU", s.Name, 100*s.Weight/weights, 100*s.GPUShare, milli))
	}
	notes := []string{
		fmt.Sprintf("tenants (namespace = tenant name), each arriving pod drawn by seeded weighted choice: %s", strings.Join(parts, "; ")),
		fmt.Sprintf("GPU quotas are %s (every GPU allocation, shares by their milli value) as shares of the cluster's %d GPUs, summing to %.0f%%; no CPU, memory or NIC quota", quota.GPUMilli.Label(), gpus, 100*total),
	}
	return tenants, notes, nil
}

// tenantPicker draws tenants by weight.
type tenantPicker struct {
	rng   *rand.Rand
	names []string
	cum   []float64
}

func newTenantPicker(specs []TenantSpec, seed int64) *tenantPicker {
	p := &tenantPicker{rng: rand.New(rand.NewPCG(uint64(seed), streamTenants))}
	sum := 0.0
	for _, s := range specs {
		sum += s.Weight
		p.names = append(p.names, s.Name)
		p.cum = append(p.cum, sum)
	}
	return p
}

func (p *tenantPicker) pick() string {
	x := p.rng.Float64() * p.cum[len(p.cum)-1]
	for i, c := range p.cum {
		if x < c {
			return p.names[i]
		}
	}
	return p.names[len(p.names)-1]
}
