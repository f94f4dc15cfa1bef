package helm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
)

// TestReclaimValues checks that reclaim values the plugin would reject at
// start fail the installation with a message naming the value, and that
// accepted ones reach the plugin's command line.
func TestReclaimValues(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		// wantErr is part of helm's error; empty means it renders.
		wantErr string
		// wantFlags are the reclaim flags of a rendering.
		wantFlags map[string]string
	}{
		{name: "other interval and threshold", set: []string{"--set", "kubeletPlugin.reclaim.interval=1h30m", "--set", "kubeletPlugin.reclaim.gpuBusyPercent=100"},
			wantFlags: map[string]string{"reclaim-idle-workspaces": "true", "reclaim-interval": "1h30m0s", "reclaim-gpu-busy-percent": "100"}},
		{name: "fractional interval", set: []string{"--set", "kubeletPlugin.reclaim.interval=1.5m"},
			wantFlags: map[string]string{"reclaim-idle-workspaces": "true", "reclaim-interval": "1m30s", "reclaim-gpu-busy-percent": "5"}},
		{name: "off ignores the rest", set: []string{"--set", "kubeletPlugin.reclaim.enabled=false", "--set", "kubeletPlugin.reclaim.interval=soon"},
			wantFlags: map[string]string{"reclaim-idle-workspaces": "false"}},
		{name: "interval without unit", set: []string{"--set", "kubeletPlugin.reclaim.interval=30"}, wantErr: `kubeletPlugin.reclaim.interval "30" is not a Go duration`},
		{name: "interval in words", set: []string{"--set", "kubeletPlugin.reclaim.interval=soon"}, wantErr: `kubeletPlugin.reclaim.interval "soon" is not a Go duration`},
		{name: "negative interval", set: []string{"--set", "kubeletPlugin.reclaim.interval=-30s"}, wantErr: `kubeletPlugin.reclaim.interval "-30s" is not a Go duration`},
		{name: "busy percent zero", set: []string{"--set", "kubeletPlugin.reclaim.gpuBusyPercent=0"}, wantErr: "kubeletPlugin.reclaim.gpuBusyPercent 0 is not a whole percentage from 1 to 100"},
		{name: "busy percent over 100", set: []string{"--set", "kubeletPlugin.reclaim.gpuBusyPercent=101"}, wantErr: "kubeletPlugin.reclaim.gpuBusyPercent 101 is not"},
		{name: "fractional busy percent", set: []string{"--set", "kubeletPlugin.reclaim.gpuBusyPercent=2.5"}, wantErr: "kubeletPlugin.reclaim.gpuBusyPercent 2.5 is not"},
		{name: "busy percent in words", set: []string{"--set-string", "kubeletPlugin.reclaim.gpuBusyPercent=some"}, wantErr: "kubeletPlugin.reclaim.gpuBusyPercent some is not"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", releaseName, chartDir, "--namespace", releaseNamespace}, tc.set...)
			stdout, stderr, err := tryHelm(t, args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(stderr), tc.wantErr) {
					t.Errorf("helm %s: %v, stderr %q; want a failure saying %q", strings.Join(tc.set, " "), err, stderr, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(tc.set, " "), err, stderr)
			}
			objs, err := parseManifests(stdout)
			if err != nil {
				t.Fatal(err)
			}
			ds := toTyped(t, typedScheme(t), findOne(t, objs, "DaemonSet", releaseName+"-kubelet-plugin")).(*appsv1.DaemonSet)
			got := map[string]string{}
			for name, value := range parseArgs(t, pluginCommand(), ds.Spec.Template.Spec.Containers[0].Args, "v") {
				if strings.HasPrefix(name, "reclaim-") {
					got[name] = value
				}
			}
			if diff := cmp.Diff(tc.wantFlags, got); diff != "" {
				t.Errorf("reclaim flags (-want +got):\n%s", diff)
			}
		})
	}
}
