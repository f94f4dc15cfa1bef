// Package cdi writes one Container Device Interface spec per prepared
// ResourceClaim, so that the container runtime can inject exactly the devices
// (and environment) that claim was given, and removes it at unprepare.
//
// Device names embed the claim UID: runtimes may cache CDI specs, and a name
// that is never reused cannot hit a stale cache entry.
package cdi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/types"
	cdiapi "tags.cncf.io/container-device-interface/pkg/cdi"
	"tags.cncf.io/container-device-interface/pkg/parser"
	cdispec "tags.cncf.io/container-device-interface/specs-go"
)

// Class is the CDI class of every hadron device: a device here is "what one
// claim got", not a physical device.
const Class = "claim"

// Device is one CDI device of a claim.
type Device struct {
	// Name is unique within the claim (usually the DRA device name).
	Name  string
	Edits cdispec.ContainerEdits
}

// CharDevice is a character device node with its type and numbers set, so
// that the runtime never looks the node up in the host's /dev (which may
// lack it, as on simulated hardware).
func CharDevice(path string, major, minor int64) *cdispec.DeviceNode {
	return &cdispec.DeviceNode{Path: path, Type: "c", Major: major, Minor: minor}
}

// Writer manages the CDI specs of one driver in one directory.
type Writer struct {
	dir    string
	vendor string
}

// NewWriter returns a writer for driverName's specs in dir. The CDI vendor is
// "k8s.<driverName>", following the convention of Kubernetes DRA drivers.
func NewWriter(dir, driverName string) (*Writer, error) {
	vendor := "k8s." + driverName
	if err := parser.ValidateVendorName(vendor); err != nil {
		return nil, fmt.Errorf("CDI vendor for driver %q: %w", driverName, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create CDI directory: %w", err)
	}
	return &Writer{dir: dir, vendor: vendor}, nil
}

// Kind is the CDI kind ("vendor/class") of this writer's devices.
func (w *Writer) Kind() string { return w.vendor + "/" + Class }

// DeviceID is the fully qualified CDI device name handed to the runtime.
func (w *Writer) DeviceID(claimUID types.UID, name string) string {
	return parser.QualifiedName(w.vendor, Class, deviceName(claimUID, name))
}

func deviceName(claimUID types.UID, name string) string {
	return string(claimUID) + "-" + name
}

// SpecPath is where the spec of claimUID lives.
func (w *Writer) SpecPath(claimUID types.UID) string {
	return filepath.Join(w.dir, cdiapi.GenerateTransientSpecName(w.vendor, Class, string(claimUID))+".json")
}

// Write creates or replaces the spec of claimUID. Writing is atomic (the CDI
// library renames a temporary file into place) and validates the spec.
func (w *Writer) Write(claimUID types.UID, devices []Device) error {
	spec := &cdispec.Spec{Kind: w.Kind()}
	for _, d := range devices {
		spec.Devices = append(spec.Devices, cdispec.Device{Name: deviceName(claimUID, d.Name), ContainerEdits: d.Edits})
	}
	version, err := cdispec.MinimumRequiredVersion(spec)
	if err != nil {
		return fmt.Errorf("CDI spec for claim %s: %w", claimUID, err)
	}
	spec.Version = version
	cache, err := cdiapi.NewCache(cdiapi.WithSpecDirs(w.dir), cdiapi.WithAutoRefresh(false))
	if err != nil {
		return fmt.Errorf("open CDI directory %s: %w", w.dir, err)
	}
	if err := cache.WriteSpec(spec, filepath.Base(w.SpecPath(claimUID))); err != nil {
		return fmt.Errorf("write CDI spec for claim %s: %w", claimUID, err)
	}
	return nil
}

// Remove deletes the spec of claimUID; a missing spec is not an error so that
// unprepare stays idempotent.
func (w *Writer) Remove(claimUID types.UID) error {
	err := os.Remove(w.SpecPath(claimUID))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove CDI spec for claim %s: %w", claimUID, err)
	}
	return nil
}
