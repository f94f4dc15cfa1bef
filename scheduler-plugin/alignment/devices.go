package alignment

import (
	"cmp"
	"strconv"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
)

// candidate is one device that a node might offer, with the driver that
// qualifies its unqualified attribute and capacity names.
type candidate struct {
	driver string
	device *resourceapi.Device
}

// sliceIndex groups ResourceSlices by the node they belong to, built once
// per pod so that Filter only walks the slices of the node it checks.
type sliceIndex struct {
	byNode map[string][]*resourceapi.ResourceSlice
	// anyNode holds slices that are not bound to one node by name
	// (nodeSelector, allNodes, per-device node selection). Their devices
	// count on every node: the node selector is not evaluated, which can
	// only make rejection rarer.
	anyNode []*resourceapi.ResourceSlice
}

func newSliceIndex(slices []*resourceapi.ResourceSlice) *sliceIndex {
	ix := &sliceIndex{byNode: make(map[string][]*resourceapi.ResourceSlice)}
	for _, slice := range slices {
		if len(slice.Spec.Devices) == 0 {
			// Slices holding only shared counters offer no device.
			continue
		}
		if name := slice.Spec.NodeName; name != nil && *name != "" {
			ix.byNode[*name] = append(ix.byNode[*name], slice)
			continue
		}
		ix.anyNode = append(ix.anyNode, slice)
	}
	return ix
}

// devices returns the devices that may be allocated on node. Devices of
// one pool can appear twice while a driver replaces a pool generation;
// counting both is harmless here.
func (ix *sliceIndex) devices(node string) []candidate {
	var out []candidate
	for _, slice := range ix.byNode[node] {
		for i := range slice.Spec.Devices {
			out = append(out, candidate{driver: slice.Spec.Driver, device: &slice.Spec.Devices[i]})
		}
	}
	for _, slice := range ix.anyNode {
		for i := range slice.Spec.Devices {
			device := &slice.Spec.Devices[i]
			if name := device.NodeName; name != nil && *name != "" && *name != node {
				continue
			}
			out = append(out, candidate{driver: slice.Spec.Driver, device: device})
		}
	}
	return out
}

// lookupAttribute finds a device attribute by its fully qualified name. A
// driver may publish its own attributes without the domain, so the bare
// identifier is tried when the domain is the driver's.
func lookupAttribute(c candidate, name resourceapi.FullyQualifiedName) (resourceapi.DeviceAttribute, bool) {
	if attr, ok := c.device.Attributes[resourceapi.QualifiedName(name)]; ok {
		return attr, true
	}
	domain, id, ok := strings.Cut(string(name), "/")
	if !ok || domain != c.driver {
		return resourceapi.DeviceAttribute{}, false
	}
	attr, ok := c.device.Attributes[resourceapi.QualifiedName(id)]
	return attr, ok
}

// lookupCapacity finds a device capacity by name, qualified or not, in the
// same lenient way as lookupAttribute.
func lookupCapacity(c candidate, name resourceapi.QualifiedName) (resourceapi.DeviceCapacity, bool) {
	if capacity, ok := c.device.Capacity[name]; ok {
		return capacity, true
	}
	other := resourceapi.QualifiedName(c.driver + "/" + string(name))
	if domain, id, ok := strings.Cut(string(name), "/"); ok {
		if domain != c.driver {
			return resourceapi.DeviceCapacity{}, false
		}
		other = resourceapi.QualifiedName(id)
	}
	capacity, ok := c.device.Capacity[other]
	return capacity, ok
}

// valueKind orders the types of attribute values; a value of one type never
// matches a value of another.
type valueKind uint8

const (
	kindBool valueKind = iota
	kindInt
	kindString
	kindVersion
)

// value is one attribute value, comparable so that it can key a map.
type value struct {
	kind valueKind
	num  int64 // int values, and bools as 0 or 1
	text string
}

func (v value) String() string {
	switch v.kind {
	case kindBool:
		return strconv.FormatBool(v.num != 0)
	case kindInt:
		return strconv.FormatInt(v.num, 10)
	default:
		return v.text
	}
}

// compareValues gives values a fixed order so that messages and tie
// breaks do not depend on map iteration.
func compareValues(a, b value) int {
	return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.num, b.num), cmp.Compare(a.text, b.text))
}

// attributeValues returns the distinct values of an attribute. A list
// attribute yields every element: under matchAttribute's set semantics a
// group of devices aligns on a value when all of them contain it. Without
// list support in the allocator such devices align less often, so counting
// them here only makes rejection rarer.
func attributeValues(attr resourceapi.DeviceAttribute) []value {
	var out []value
	add := func(v value) {
		for _, have := range out {
			if have == v {
				return
			}
		}
		out = append(out, v)
	}
	switch {
	case attr.IntValue != nil:
		add(value{kind: kindInt, num: *attr.IntValue})
	case attr.BoolValue != nil:
		add(boolValue(*attr.BoolValue))
	case attr.StringValue != nil:
		add(value{kind: kindString, text: *attr.StringValue})
	case attr.VersionValue != nil:
		add(value{kind: kindVersion, text: *attr.VersionValue})
	}
	for _, n := range attr.IntValues {
		add(value{kind: kindInt, num: n})
	}
	for _, b := range attr.BoolValues {
		add(boolValue(b))
	}
	for _, s := range attr.StringValues {
		add(value{kind: kindString, text: s})
	}
	for _, s := range attr.VersionValues {
		add(value{kind: kindVersion, text: s})
	}
	return out
}

func boolValue(b bool) value {
	if b {
		return value{kind: kindBool, num: 1}
	}
	return value{kind: kindBool}
}
