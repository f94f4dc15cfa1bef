package nic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/klog/v2"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"github.com/hadron-sched/hadron/driver/cdi"
)

// devDir is where the kernel's RDMA character devices live.
const devDir = "/dev/infiniband"

// Well-known character device numbers, used when sysfs cannot say: user
// verbs devices are major 231 from minor 192 (IB_UVERBS_BASE_MINOR), and
// rdma_cm is misc device 10:58 on common kernels. The sysfs numbers win
// because the kernel may hand out others (dynamic misc minors, more than 64
// verbs devices).
const (
	uverbsMajor     = 231
	uverbsBaseMinor = 192
)

var rdmaCMFallback = devNum{Major: 10, Minor: 58}

// devNum is a character device's major and minor number.
type devNum struct {
	Major int64 `json:"major"`
	Minor int64 `json:"minor"`
}

// preparedNIC is the checkpointed record of what one allocation was given.
// Nothing in it needs undoing; it documents the grant for debugging and
// for reading back after a restart.
type preparedNIC struct {
	Device     string `json:"device"`
	Index      int    `json:"index"`
	PCIBusID   string `json:"pciBusID"`
	Interface  string `json:"interface,omitempty"`
	RDMADevice string `json:"rdmaDevice"`
	// Uverbs is the user verbs device ("uverbs0"); the numbers are those
	// the container's device nodes were given.
	Uverbs    string `json:"uverbs"`
	UverbsDev devNum `json:"uverbsDev"`
	RDMACMDev devNum `json:"rdmaCMDev"`
	// BandwidthBitsPerSecond is the share of a NIC shared by bandwidth;
	// absent for exclusive NICs, which get the whole link.
	BandwidthBitsPerSecond int64 `json:"bandwidthBitsPerSecond,omitempty"`
}

// readDevNum reads a sysfs dev file ("231:192\n"). Major 0 is refused: CDI
// would take it for "unspecified" and look the node up on the host.
func readDevNum(file string) (devNum, error) {
	f, err := os.Open(file)
	if err != nil {
		return devNum{}, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	// A dev file is a few bytes; anything longer is not one.
	b, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return devNum{}, fmt.Errorf("read %s: %w", file, err)
	}
	majS, minS, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	major, errMaj := strconv.ParseUint(majS, 10, 32)
	minor, errMin := strconv.ParseUint(minS, 10, 32)
	if !ok || errMaj != nil || errMin != nil || major == 0 {
		return devNum{}, fmt.Errorf("%s: %q is not major:minor", file, b)
	}
	return devNum{Major: int64(major), Minor: int64(minor)}, nil
}

// devNumOr reads a device number from sysfs, falling back to the
// well-known one with a note in the log: in simulation or on unusual
// kernels the file may be missing, and the container still needs a node.
func devNumOr(ctx context.Context, sysfsRoot, rel string, fallback devNum) devNum {
	file := filepath.Join(sysfsRoot, rel)
	n, err := readDevNum(file)
	if err != nil {
		msg := "Device number unreadable, using the well-known one"
		if errors.Is(err, os.ErrNotExist) {
			msg = "Device number not in sysfs, using the well-known one"
		}
		klog.FromContext(ctx).Info(msg, "file", file, "err", err, "major", fallback.Major, "minor", fallback.Minor)
		return fallback
	}
	return n
}

// uverbsDevNum is the number of a user verbs device ("uverbs3").
func uverbsDevNum(ctx context.Context, sysfsRoot, uverbs string) (devNum, error) {
	m := uverbsName.FindStringSubmatch(uverbs)
	if m == nil {
		return devNum{}, fmt.Errorf("%q is not a user verbs device", uverbs)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return devNum{}, fmt.Errorf("user verbs device %q: %w", uverbs, err)
	}
	rel := path.Join("sys/class/infiniband_verbs", uverbs, "dev")
	return devNumOr(ctx, sysfsRoot, rel, devNum{Major: uverbsMajor, Minor: uverbsBaseMinor + n}), nil
}

// rdmaCMDevNum is the number of the RDMA connection manager device.
func rdmaCMDevNum(ctx context.Context, sysfsRoot string) devNum {
	return devNumOr(ctx, sysfsRoot, "sys/class/misc/rdma_cm/dev", rdmaCMFallback)
}

func charNode(name string, n devNum) *cdispec.DeviceNode {
	return cdi.CharDevice(devDir+"/"+name, n.Major, n.Minor)
}

// containerEdits gives a container one NIC's RDMA: its user verbs device,
// the connection manager (shared by all NICs; the runtime keeps one node
// per path), and variables naming the NIC. The names carry the NIC's node
// index so that several NICs in one container never collide.
func containerEdits(p preparedNIC, linkLayer string) cdispec.ContainerEdits {
	uverbs := charNode(p.Uverbs, p.UverbsDev)
	prefix := fmt.Sprintf("HADRON_NIC_%d_", p.Index)
	env := []string{
		prefix + "PCI_BUS_ID=" + p.PCIBusID,
		prefix + "RDMA_DEVICE=" + p.RDMADevice,
		prefix + "UVERBS=" + uverbs.Path,
	}
	if p.Interface != "" {
		env = append(env, prefix+"INTERFACE="+p.Interface)
	}
	if linkLayer != "" {
		env = append(env, prefix+"LINK_LAYER="+linkLayer)
	}
	if p.BandwidthBitsPerSecond > 0 {
		env = append(env, prefix+"BANDWIDTH="+strconv.FormatInt(p.BandwidthBitsPerSecond, 10))
	}
	return cdispec.ContainerEdits{
		Env:         env,
		DeviceNodes: []*cdispec.DeviceNode{uverbs, charNode("rdma_cm", p.RDMACMDev)},
	}
}
