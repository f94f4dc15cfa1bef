package alignment

import (
	"reflect"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

func TestLookupAttribute(t *testing.T) {
	c := candidate{driver: attrs.GPUDriver, device: &resourceapi.Device{Attributes: attrMap{
		"index":        intAttr(3),
		attrs.NUMANode: numa(1),
	}}}
	tests := []struct {
		name resourceapi.FullyQualifiedName
		want *int64
	}{
		{name: resourceapi.FullyQualifiedName(attrs.NUMANode), want: new(int64(1))},
		{name: resourceapi.FullyQualifiedName(attrs.GPUIndex), want: new(int64(3))}, // unqualified in the driver's domain
		{name: "nic.hadron.dev/index"},                                              // another driver's domain
		{name: resourceapi.FullyQualifiedName(attrs.PCIeRoot)},
	}
	for _, tc := range tests {
		attr, ok := lookupAttribute(c, tc.name)
		if ok != (tc.want != nil) || (ok && *attr.IntValue != *tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, attr, ok, tc.want)
		}
	}
}

func TestLookupCapacity(t *testing.T) {
	four := resourceapi.DeviceCapacity{Value: resource.MustParse("4")}
	qualified := candidate{driver: attrs.CPUDriver, device: &resourceapi.Device{Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{attrs.CPUs: four}}}
	bare := candidate{driver: attrs.CPUDriver, device: &resourceapi.Device{Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{"cpus": four}}}
	for _, c := range []candidate{qualified, bare} {
		for _, name := range []resourceapi.QualifiedName{attrs.CPUs, "cpus"} {
			if _, ok := lookupCapacity(c, name); !ok {
				t.Errorf("%s not found in %v", name, c.device.Capacity)
			}
		}
		if _, ok := lookupCapacity(c, "gpu.hadron.dev/cpus"); ok {
			t.Errorf("another driver's capacity found in %v", c.device.Capacity)
		}
	}
}

func TestAttributeValues(t *testing.T) {
	tests := []struct {
		attr resourceapi.DeviceAttribute
		want []string
	}{
		{attr: intAttr(0), want: []string{"0"}},
		{attr: strAttr("pci0000:00"), want: []string{"pci0000:00"}},
		{attr: boolAttr(true), want: []string{"true"}},
		{attr: resourceapi.DeviceAttribute{VersionValue: new("1.2.3")}, want: []string{"1.2.3"}},
		{attr: resourceapi.DeviceAttribute{IntValues: []int64{1, 0, 1}}, want: []string{"1", "0"}},
		{attr: resourceapi.DeviceAttribute{StringValues: []string{"a", "b"}}, want: []string{"a", "b"}},
		{attr: resourceapi.DeviceAttribute{}},
	}
	for _, tc := range tests {
		var got []string
		for _, v := range attributeValues(tc.attr) {
			got = append(got, v.String())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.attr, got, tc.want)
		}
	}
	// Values of different types never align.
	if attributeValues(intAttr(1))[0] == attributeValues(strAttr("1"))[0] {
		t.Error("int 1 and string \"1\" are the same value")
	}
}

// A list-valued attribute aligns with every value it contains.
func TestListAttributeAligns(t *testing.T) {
	dual := gpu(0)
	dual.Attributes[attrs.PCIeRoot] = resourceapi.DeviceAttribute{StringValues: []string{"pci0000:00", "pci0000:20"}}
	check := &claimCheck{
		claim:        "default/c",
		requirements: []requirement{{request: "gpus", count: 1}, {request: "nic", count: 1}},
		alignments:   []alignment{{attribute: resourceapi.FullyQualifiedName(attrs.PCIeRoot), requirements: []int{0, 1}}},
	}
	nicAt20 := nic(0, attrs.NICLinkLayerInfiniBand)
	nicAt20.Attributes[attrs.PCIeRoot] = pcieRoot(1)
	// Without selectors each requirement matches both devices.
	devices := []candidate{{driver: attrs.GPUDriver, device: &dual}, {driver: attrs.NICDriver, device: &nicAt20}}
	if why, err := check.evaluate(t.Context(), devices); why != "" || err != nil {
		t.Errorf("got %q, %v; want the node admitted", why, err)
	}
}
