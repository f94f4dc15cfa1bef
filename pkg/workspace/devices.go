package workspace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// Device is one device allocated to a workspace.
type Device struct {
	Claim, Request, Driver, Pool, Device string
	// NUMANode is the device's resource.kubernetes.io/numaNode, nil when
	// the device has none or its ResourceSlice could not be read.
	NUMANode *int64
}

func (d Device) String() string { return d.Driver + "/" + d.Device }

// sliceIndex finds published devices by driver, pool and name. A nil
// index means the user may not read ResourceSlices (cluster-scoped).
type sliceIndex map[[3]string]resourceapi.Device

// readSlices lists ResourceSlices; forbidden gives a nil index and no
// error, because tenant users normally lack that right.
func (c *Client) readSlices(ctx context.Context) (sliceIndex, error) {
	list, err := c.Kube.ResourceV1().ResourceSlices().List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list ResourceSlices: %w", err)
	}
	idx := sliceIndex{}
	for _, s := range list.Items {
		for _, d := range s.Spec.Devices {
			idx[[3]string{s.Spec.Driver, s.Spec.Pool.Name, d.Name}] = d
		}
	}
	return idx, nil
}

// podClaims returns the pod's ResourceClaims that exist, in the pod's
// order.
func (c *Client) podClaims(ctx context.Context, pod *v1.Pod) ([]*resourceapi.ResourceClaim, error) {
	names := kube.PodClaimNames(pod)
	var out []*resourceapi.ResourceClaim
	for _, ref := range pod.Spec.ResourceClaims {
		name, ok := names[ref.Name]
		if !ok {
			continue // not generated yet
		}
		claim, err := c.Kube.ResourceV1().ResourceClaims(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get ResourceClaim %s/%s: %w", c.Namespace, name, err)
		}
		out = append(out, claim)
	}
	return out, nil
}

// allocatedDevices lists what the claims got, with NUMA nodes when idx
// knows them.
func allocatedDevices(claims []*resourceapi.ResourceClaim, idx sliceIndex) []Device {
	var out []Device
	for _, claim := range claims {
		if claim.Status.Allocation == nil {
			continue
		}
		for _, r := range claim.Status.Allocation.Devices.Results {
			d := Device{Claim: claim.Name, Request: r.Request, Driver: r.Driver, Pool: r.Pool, Device: r.Device}
			if published, ok := idx[[3]string{r.Driver, r.Pool, r.Device}]; ok {
				if a, ok := published.Attributes[attrs.NUMANode]; ok && a.IntValue != nil {
					d.NUMANode = new(*a.IntValue)
				}
			}
			out = append(out, d)
		}
	}
	return out
}

// allAllocated tells whether every claim is allocated.
func allAllocated(pod *v1.Pod, claims []*resourceapi.ResourceClaim) bool {
	if len(claims) < len(pod.Spec.ResourceClaims) {
		return false
	}
	for _, c := range claims {
		if c.Status.Allocation == nil {
			return false
		}
	}
	return true
}

// numaSummary is "0", "0,1", or "-" when no device's NUMA node is known.
func numaSummary(devices []Device) string {
	var nodes []int64
	for _, d := range devices {
		if d.NUMANode != nil && !slices.Contains(nodes, *d.NUMANode) {
			nodes = append(nodes, *d.NUMANode)
		}
	}
	if len(nodes) == 0 {
		return "-"
	}
	slices.Sort(nodes)
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(parts, ",")
}

// deviceSummary is "driver/device, ..." or "-".
func deviceSummary(devices []Device) string {
	if len(devices) == 0 {
		return "-"
	}
	parts := make([]string, len(devices))
	for i, d := range devices {
		parts[i] = d.String()
	}
	return strings.Join(parts, ", ")
}
