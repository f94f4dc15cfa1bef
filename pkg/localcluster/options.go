package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FeatureGates is the --feature-gates value passed to kube-apiserver,
// kube-controller-manager and the scheduler. In-process components (for
// example a kubelet simulator) should apply the same value, e.g. with
// utilfeature.DefaultMutableFeatureGate.Set(localcluster.FeatureGates).
//
// It only names DRA gates of Kubernetes v1.37 which are alpha or beta. GA
// gates are on by default and not listed: the locked ones (DRAAdminAccess,
// DRAExtendedResource, DRAPrioritizedList, DRAResourceClaimDeviceStatus,
// DynamicResourceAllocation) cannot be changed, and setting the unlocked ones
// (DRADeviceTaints, DRADeviceTaintRules) only produces a warning in every
// component and will fail once they are removed. Beta gates are listed even
// when they default to true, so that the cluster does not silently change
// when defaults do. The alpha gates are those relevant to GPU partitioning
// and NUMA-aware allocation; DRAResourcePoolStatus needs
// resource.k8s.io/v1alpha3, which RuntimeConfig enables.
var FeatureGates = strings.Join([]string{
	"DRAConsumableCapacity=true",        // beta: shared devices with capacity (e.g. GPU memory slices)
	"DRADeviceBindingConditions=true",   // beta: delayed binding until device is attached
	"DRADeviceCompatibilityGroups=true", // alpha: MIG vs vGPU co-allocation rules on counters
	"DRAFractionalCapacityRange=true",   // beta: milli-unit capacity request policies
	"DRAListTypeAttributes=true",        // alpha: list attributes (e.g. several NUMA nodes / PCIe roots)
	"DRAPartitionableDevices=true",      // beta: shared counters / partitions (MIG)
	"DRAPartitionableDevicesType=true",  // alpha: typed partition summary in pool status
	"DRAResourcePoolStatus=true",        // alpha: ResourcePoolStatusRequest API (v1alpha3)
	"DRASchedulerFilterTimeout=true",    // beta: bounded per-node DRA Filter time
}, ",")

// RuntimeConfig is the --runtime-config value passed to kube-apiserver.
// resource.k8s.io/v1 is GA and served by default; v1alpha3 carries
// ResourcePoolStatusRequest (DRAResourcePoolStatus), the beta versions are
// served for tools that still speak them.
var RuntimeConfig = "resource.k8s.io/v1alpha3=true,resource.k8s.io/v1beta1=true,resource.k8s.io/v1beta2=true"

// DefaultSchedulerBinary is the scheduler binary used when
// Options.SchedulerBinary is empty.
const DefaultSchedulerBinary = "hadron-scheduler"

// Names of the binaries expected in Options.BinDir (besides the scheduler).
const (
	EtcdBinary              = "etcd"
	APIServerBinary         = "kube-apiserver"
	ControllerManagerBinary = "kube-controller-manager"
)

// Component names, used for log files (WorkDir/logs/<name>.log) and as keys
// of Options.ExtraArgs.
const (
	ComponentEtcd              = "etcd"
	ComponentAPIServer         = "kube-apiserver"
	ComponentControllerManager = "kube-controller-manager"
	ComponentScheduler         = "scheduler"
)

// Options configures Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and the
	// scheduler binary. Empty means DefaultBinDir().
	BinDir string
	// WorkDir is the state directory (certs, keys, tokens, etcd data,
	// kubeconfigs, component logs under WorkDir/logs). It is created if
	// missing. The etcd data below it is wiped at Start: every Start gives
	// a fresh cluster. Empty means a new temporary directory which Stop
	// removes again.
	WorkDir string
	// SchedulerBinary is the scheduler's file name in BinDir, default
	// "hadron-scheduler". It must accept the kube-scheduler flags.
	SchedulerBinary string
	// SchedulerConfig is an optional KubeSchedulerConfiguration (YAML or
	// JSON). clientConnection.kubeconfig and leaderElection.leaderElect are
	// always set by this package, clientConnection.qps/burst are raised to
	// 200/400 unless given. nil means the default profile.
	SchedulerConfig []byte
	// Progress is optionally called with short human-readable steps.
	Progress func(step string)
	// ExtraArgs optionally adds command line flags per component (keys:
	// ComponentEtcd, ComponentAPIServer, ComponentControllerManager,
	// ComponentScheduler). Later flags override earlier ones.
	ExtraArgs map[string][]string
}

// binaries returns the absolute paths of the component binaries.
type binaries struct {
	etcd, apiserver, controllerManager, scheduler string
}

// withDefaults returns a copy of o with defaults filled in, the binaries it
// refers to, and whether the WorkDir is a temporary one owned by the cluster.
func (o Options) withDefaults() (Options, bool, error) {
	tempWorkDir := false
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir()
		if o.BinDir == "" {
			return o, false, errors.New("no BinDir given and none found (set HADRON_BIN_DIR or run `make build` in the repository)")
		}
	}
	if o.SchedulerBinary == "" {
		o.SchedulerBinary = DefaultSchedulerBinary
	}
	if strings.ContainsRune(o.SchedulerBinary, filepath.Separator) {
		return o, false, fmt.Errorf("SchedulerBinary %q must be a file name in BinDir, not a path", o.SchedulerBinary)
	}
	for name := range o.ExtraArgs {
		switch name {
		case ComponentEtcd, ComponentAPIServer, ComponentControllerManager, ComponentScheduler:
		default:
			return o, false, fmt.Errorf("ExtraArgs: unknown component %q", name)
		}
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "hadron-localcluster-")
		if err != nil {
			return o, false, fmt.Errorf("create temporary WorkDir: %w", err)
		}
		o.WorkDir = dir
		tempWorkDir = true
	}
	binDir, err := filepath.Abs(o.BinDir)
	if err != nil {
		return o, tempWorkDir, fmt.Errorf("BinDir: %w", err)
	}
	o.BinDir = binDir
	workDir, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return o, tempWorkDir, fmt.Errorf("WorkDir: %w", err)
	}
	o.WorkDir = workDir
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o, tempWorkDir, nil
}

// binaries checks that all binaries exist and are executable.
func (o Options) binaries() (binaries, error) {
	b := binaries{
		etcd:              filepath.Join(o.BinDir, EtcdBinary),
		apiserver:         filepath.Join(o.BinDir, APIServerBinary),
		controllerManager: filepath.Join(o.BinDir, ControllerManagerBinary),
		scheduler:         filepath.Join(o.BinDir, o.SchedulerBinary),
	}
	var missing []string
	for _, p := range []string{b.etcd, b.apiserver, b.controllerManager, b.scheduler} {
		if !isExecutable(p) {
			missing = append(missing, filepath.Base(p))
		}
	}
	if len(missing) > 0 {
		return b, &MissingBinariesError{BinDir: o.BinDir, Missing: missing}
	}
	return b, nil
}

// MissingBinariesError is returned by Start when binaries are not in BinDir.
type MissingBinariesError struct {
	BinDir  string
	Missing []string
}

func (e *MissingBinariesError) Error() string {
	return fmt.Sprintf("control plane binaries missing in %s: %s (run `make build` first, or set HADRON_BIN_DIR)",
		e.BinDir, strings.Join(e.Missing, ", "))
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// DefaultBinDir returns $HADRON_BIN_DIR if set, else the directory of the
// running executable if it contains kube-apiserver, else <repo root>/_output/bin
// where the repo root is the closest directory containing go.mod, walking up
// from the working directory. It returns "" if none of these applies.
func DefaultBinDir() string {
	if dir := os.Getenv("HADRON_BIN_DIR"); dir != "" {
		return dir
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			dir := filepath.Dir(exe)
			if isExecutable(filepath.Join(dir, APIServerBinary)) {
				return dir
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	if root := findModuleRoot(wd); root != "" {
		return filepath.Join(root, "_output", "bin")
	}
	return ""
}

// findModuleRoot returns the closest directory at or above dir containing
// go.mod, or "".
func findModuleRoot(dir string) string {
	dir = filepath.Clean(dir)
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && st.Mode().IsRegular() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
