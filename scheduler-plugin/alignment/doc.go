// Package alignment is the DeviceAlignment scheduler plugin. It explains,
// per node, why a ResourceClaim's matchAttribute constraint (devices of
// several requests on one NUMA node or PCIe root, say) cannot be met
// there, where the DynamicResources plugin only reports "cannot allocate
// all claims".
//
// It never changes where a pod can go. A node is rejected only when the
// alignment is impossible on it whatever is allocated: for some
// constraint of an unallocated claim, no value of the attribute has, for
// every ExactCount request the constraint covers, count devices of the
// node that carry that value, match the DeviceClass's and the request's
// selectors, and offer the requested capacity. Everything that cannot be
// judged this simply is left to the DynamicResources plugin and only ever
// makes rejection rarer: requests with subrequests or allocation mode All
// are not counted, one device may count for several requests, devices of
// slices selected by node selector count on every node, taints, shared
// counters and request policies are ignored, and a claim whose selectors
// fail to compile or evaluate is not checked.
//
// The rejection is UnschedulableAndUnresolvable with a message naming the
// claim, the attribute, the requests that fall short and the most the node
// offers, e.g.
//
//	claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)
//
// For the message to reach the pod's status, the plugin has to run before
// DynamicResources in the filter extension point; deploy/scheduler/config.yaml
// shows how.
//
// The plugin has no arguments, so it has no typed args, defaults or
// validation.
package alignment
