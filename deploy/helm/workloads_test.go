package helm

import (
	goflag "flag"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"

	pluginapp "github.com/hadron-sched/hadron/cmd/hadron-kubelet-plugin/app"
)

// parseArgs parses a container's args with the command that runs them, so
// that a flag the binary does not have fails here rather than in a
// crash-looping pod. Flags whose parsing changes process-wide state (the
// klog verbosity, feature gates) are only looked up and returned.
func parseArgs(t testing.TB, cmd *cobra.Command, args []string, globals ...string) map[string]string {
	t.Helper()
	var rest []string
	found := map[string]string{}
	for _, arg := range args {
		name, value, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if slices.Contains(globals, name) {
			found[name] = value
			continue
		}
		rest = append(rest, arg)
	}
	for name := range found {
		if cmd.Flags().Lookup(name) == nil && cmd.PersistentFlags().Lookup(name) == nil {
			t.Errorf("%s has no flag --%s", cmd.Name(), name)
		}
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s %s: %v", cmd.Name(), strings.Join(args, " "), err)
	}
	cmd.Flags().Visit(func(f *pflag.Flag) { found[f.Name] = f.Value.String() })
	return found
}

// pluginCommand is hadron-kubelet-plugin's command line as its main
// package assembles it: the app's flags plus klog's.
func pluginCommand() *cobra.Command {
	cmd := pluginapp.NewCommand()
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	cmd.PersistentFlags().AddGoFlagSet(klogFlags)
	return cmd
}

// hostPathVolume is a hostPath volume and where the container mounts it.
type hostPathVolume struct {
	HostPath, MountPath string
	ReadOnly            bool
}

// hostPaths lists the host paths the pod's first container mounts.
func hostPaths(t testing.TB, spec corev1.PodSpec) []hostPathVolume {
	t.Helper()
	paths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			paths[v.Name] = v.HostPath.Path
		}
	}
	var out []hostPathVolume
	for _, m := range spec.Containers[0].VolumeMounts {
		if hostPath, ok := paths[m.Name]; ok {
			out = append(out, hostPathVolume{HostPath: hostPath, MountPath: m.MountPath, ReadOnly: m.ReadOnly})
			delete(paths, m.Name)
		}
	}
	for name := range paths {
		t.Errorf("hostPath volume %s is never mounted", name)
	}
	return out
}

func TestKubeletPluginDaemonSet(t *testing.T) {
	kubeletMounts := []hostPathVolume{
		{HostPath: "/var/lib/kubelet/plugins", MountPath: "/var/lib/kubelet/plugins"},
		{HostPath: "/var/lib/kubelet/plugins_registry", MountPath: "/var/lib/kubelet/plugins_registry"},
		{HostPath: "/var/run/cdi", MountPath: "/var/run/cdi"},
	}
	hardwareMounts := []hostPathVolume{
		{HostPath: "/sys", MountPath: "/host/sys", ReadOnly: true},
		{HostPath: "/dev", MountPath: "/dev"},
		{HostPath: "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", MountPath: "/usr/local/lib/hadron-nvml/libnvidia-ml.so.1", ReadOnly: true},
		{HostPath: "/var/run/nri", MountPath: "/var/run/nri"},
	}
	tests := []struct {
		scenario   scenario
		wantMounts []hostPathVolume
		wantFlags  map[string]string
		privileged bool
	}{
		{defaults, append(slices.Clone(kubeletMounts), hardwareMounts...), map[string]string{
			"kubelet-dir": "/var/lib/kubelet", "cdi-dir": "/var/run/cdi", "sysfs-root": "/host", "nri": "true",
			"nri-socket": "/var/run/nri/nri.sock", "nic-sharing": "exclusive", "kube-api-qps": "50", "kube-api-burst": "100",
			"metrics-address": ":8080", "v": "0",
			"reclaim-idle-workspaces": "true", "reclaim-interval": "30s", "reclaim-gpu-busy-percent": "5",
		}, true},
		{allFeatures, append(slices.Clone(kubeletMounts), hardwareMounts...), map[string]string{
			"kubelet-dir": "/var/lib/kubelet", "cdi-dir": "/var/run/cdi", "sysfs-root": "/host", "nri": "true",
			"nri-socket": "/var/run/nri/nri.sock", "gpu-mode": "shared", "config": "/etc/hadron/gpu/config.yaml",
			"reserved-cpus": "0,56", "nic-sharing": "bandwidth", "kube-api-qps": "80", "kube-api-burst": "100",
			"metrics-address": ":9400", "v": "4",
			"reclaim-idle-workspaces": "true", "reclaim-interval": "1m0s", "reclaim-gpu-busy-percent": "10",
		}, true},
		{simulated, kubeletMounts, map[string]string{
			"kubelet-dir": "/var/lib/kubelet", "cdi-dir": "/var/run/cdi", "machine": "dgxh100", "nri": "false",
			"nic-sharing": "exclusive", "kube-api-qps": "50", "kube-api-burst": "100", "metrics-address": ":8080", "v": "0",
			"reclaim-idle-workspaces": "true", "reclaim-interval": "30s", "reclaim-gpu-busy-percent": "5",
		}, false},
		{minimal, append(slices.Clone(kubeletMounts), hardwareMounts...), map[string]string{
			"kubelet-dir": "/var/lib/kubelet", "cdi-dir": "/var/run/cdi", "sysfs-root": "/host", "nri": "true",
			"nri-socket": "/var/run/nri/nri.sock", "nic-sharing": "exclusive", "kube-api-qps": "50", "kube-api-burst": "100",
			"metrics-address": "", "v": "0", "reclaim-idle-workspaces": "false",
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.scenario.name, func(t *testing.T) {
			objs := render(t, tc.scenario)
			ds := toTyped(t, typedScheme(t), findOne(t, objs, "DaemonSet", releaseName+"-kubelet-plugin")).(*appsv1.DaemonSet)
			spec := ds.Spec.Template.Spec
			if len(spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(spec.Containers))
			}
			c := spec.Containers[0]
			if diff := cmp.Diff(tc.wantMounts, hostPaths(t, spec)); diff != "" {
				t.Errorf("host paths (-want +got):\n%s", diff)
			}
			if got := parseArgs(t, pluginCommand(), c.Args, "v"); !cmp.Equal(tc.wantFlags, got) {
				t.Errorf("plugin flags (-want +got):\n%s", cmp.Diff(tc.wantFlags, got))
			}
			var nodeName *corev1.EnvVar
			for i := range c.Env {
				if c.Env[i].Name == "NODE_NAME" {
					nodeName = &c.Env[i]
				}
			}
			if nodeName == nil || nodeName.ValueFrom == nil || nodeName.ValueFrom.FieldRef == nil || nodeName.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
				t.Errorf("NODE_NAME does not come from spec.nodeName: %+v", nodeName)
			}
			privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
			if privileged != tc.privileged {
				t.Errorf("privileged %v, want %v", privileged, tc.privileged)
			}
			if spec.HostNetwork || spec.HostPID || spec.HostIPC {
				t.Errorf("the plugin shares a host namespace it does not need: network %v, pid %v, ipc %v", spec.HostNetwork, spec.HostPID, spec.HostIPC)
			}
			if spec.ServiceAccountName != releaseName+"-kubelet-plugin" {
				t.Errorf("service account %q", spec.ServiceAccountName)
			}
		})
	}
}

func TestSchedulerDeployment(t *testing.T) {
	tests := []struct {
		scenario  scenario
		wantFlags map[string]string
		replicas  int32
	}{
		{defaults, map[string]string{"config": "/etc/hadron-scheduler/config.yaml", "secure-port": "10259", "v": "2"}, 1},
		{allFeatures, map[string]string{"config": "/etc/hadron-scheduler/config.yaml", "secure-port": "10259", "v": "2",
			"feature-gates": "DRAConsumableCapacity=true,DRAPartitionableDevices=true", "tls-min-version": "VersionTLS13"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.scenario.name, func(t *testing.T) {
			objs := render(t, tc.scenario)
			d := toTyped(t, typedScheme(t), findOne(t, objs, "Deployment", releaseName+"-scheduler")).(*appsv1.Deployment)
			spec := d.Spec.Template.Spec
			c := spec.Containers[0]
			if got := parseArgs(t, schedulerapp.NewSchedulerCommand(), c.Args, "v", "feature-gates"); !cmp.Equal(tc.wantFlags, got) {
				t.Errorf("scheduler flags (-want +got):\n%s", cmp.Diff(tc.wantFlags, got))
			}
			if *d.Spec.Replicas != tc.replicas {
				t.Errorf("%d replicas, want %d", *d.Spec.Replicas, tc.replicas)
			}
			var configMap string
			for _, v := range spec.Volumes {
				if v.HostPath != nil {
					t.Errorf("the scheduler mounts host path %s", v.HostPath.Path)
				}
				if v.ConfigMap != nil {
					configMap = v.ConfigMap.Name
				}
			}
			findOne(t, objs, "ConfigMap", configMap)
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged != nil && *sc.Privileged {
				t.Errorf("the scheduler may gain privileges: %+v", sc)
			}
			if spec.ServiceAccountName != releaseName+"-scheduler" {
				t.Errorf("service account %q", spec.ServiceAccountName)
			}
		})
	}
}
