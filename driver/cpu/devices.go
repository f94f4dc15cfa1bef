package cpu

import (
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/topology"
)

// device describes one NUMA node's offered CPUs. Many claims share the
// device, each consuming CPUs of its capacity; a claim that states no
// amount gets one CPU.
func (f *Family) device(n *numaNode) resourceapi.Device {
	// The layout holds each offered core once, in one group per L3 cache.
	cores, tpc := 0, 1
	for _, g := range n.layout.groups {
		cores += len(g.cores)
		tpc = max(tpc, threadsPerCore(g))
	}
	a := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		attrs.NUMANode:          {IntValue: ptr.To(int64(n.id))},
		attrs.CPUSMT:            {BoolValue: ptr.To(tpc > 1)},
		attrs.CPUThreadsPerCore: {IntValue: ptr.To(int64(tpc))},
		attrs.CPUCores:          {IntValue: ptr.To(int64(cores))},
		attrs.CPUL3Groups:       {IntValue: ptr.To(int64(len(n.layout.groups)))},
	}
	if n.socket != topology.Unknown {
		a[attrs.CPUSocket] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(n.socket))}
	}
	if f.topo.CPUModel != "" {
		a[attrs.CPUModel] = resourceapi.DeviceAttribute{StringValue: ptr.To(truncate(f.topo.CPUModel, resourceapi.DeviceAttributeMaxValueLength))}
	}
	if f.opts.PackageIdleWatts > 0 {
		a[attrs.CPUPackageIdleWatts] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(f.opts.PackageIdleWatts))}
	}
	if f.opts.PackageMaxWatts > 0 {
		a[attrs.CPUPackageMaxWatts] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(f.opts.PackageMaxWatts))}
	}
	return resourceapi.Device{
		Name:                     DeviceName(n.id),
		Attributes:               a,
		AllowMultipleAllocations: ptr.To(true),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
			attrs.CPUs: {
				Value: *resource.NewQuantity(int64(n.offered.Size()), resource.DecimalSI),
				RequestPolicy: &resourceapi.CapacityRequestPolicy{
					Default: resource.NewQuantity(1, resource.DecimalSI),
					ValidRange: &resourceapi.CapacityRequestPolicyRange{
						Min:  resource.NewQuantity(1, resource.DecimalSI),
						Step: resource.NewQuantity(1, resource.DecimalSI),
					},
				},
			},
		},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
