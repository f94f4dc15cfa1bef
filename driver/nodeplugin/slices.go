package nodeplugin

import (
	"context"
	"fmt"
	"io"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/driver"
)

// RenderSlices turns a family's resources into the ResourceSlice objects the
// publishing controller would create for nodeName (names are the
// controller's generated ones in spirit: <node>-<driver>-<n>).
func RenderSlices(driverName, nodeName string, res resourceslice.DriverResources) []resourceapi.ResourceSlice {
	var out []resourceapi.ResourceSlice
	for poolName, pool := range res.Pools {
		for i, s := range pool.Slices {
			out = append(out, resourceapi.ResourceSlice{
				TypeMeta:   metav1.TypeMeta{APIVersion: resourceapi.SchemeGroupVersion.String(), Kind: "ResourceSlice"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", nodeName, driverName, i)},
				Spec: resourceapi.ResourceSliceSpec{
					Driver:         driverName,
					NodeName:       &nodeName,
					Pool:           resourceapi.ResourcePool{Name: poolName, Generation: pool.Generation, ResourceSliceCount: int64(len(pool.Slices))},
					Devices:        s.Devices,
					SharedCounters: s.SharedCounters,
				},
			})
		}
	}
	return out
}

// PrintSlices writes, as a YAML stream, the ResourceSlices that the given
// families would publish for nodeName.
func PrintSlices(ctx context.Context, w io.Writer, nodeName string, families []driver.Family) error {
	for _, f := range families {
		res, err := f.Resources(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", f.DriverName(), err)
		}
		for _, s := range RenderSlices(f.DriverName(), nodeName, res) {
			raw, err := yaml.Marshal(s)
			if err != nil {
				return fmt.Errorf("encode slice %s: %w", s.Name, err)
			}
			if _, err := fmt.Fprintf(w, "---\n%s", raw); err != nil {
				return err
			}
		}
	}
	return nil
}
