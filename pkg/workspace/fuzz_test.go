package workspace

import (
	"testing"

	"github.com/hadron-sched/hadron/deploy"
)

// FuzzParseProfiles feeds arbitrary files to the profile parser: it must
// never panic, and whatever it accepts must render.
func FuzzParseProfiles(f *testing.F) {
	f.Add(deploy.WorkspaceProfiles)
	f.Add([]byte("profiles:" + validProfile))
	f.Add([]byte("profiles: [{name: x, devices: [{name: a, class: cpu.hadron.dev, capacity: {cpu.hadron.dev/cpus: 1e400}}]}]"))
	f.Add([]byte("profiles:\n- name: a\n  align: [{attribute: a/b, requests: [x, x]}]\n"))
	v := DefaultValidator()
	f.Fuzz(func(t *testing.T, data []byte) {
		profiles, err := ParseProfiles(data, v)
		if err != nil {
			return
		}
		for _, p := range profiles {
			objs, err := Render(p, "ws", "ns")
			if err != nil {
				t.Fatalf("accepted profile %s does not render: %v", p.Name, err)
			}
			if len(p.Devices) > 0 && len(objs.ClaimTemplate.Spec.Spec.Devices.Requests) != len(p.Devices) {
				t.Fatalf("profile %s: %d requests rendered, want %d", p.Name, len(objs.ClaimTemplate.Spec.Spec.Devices.Requests), len(p.Devices))
			}
		}
		if _, err := JupyterHubValues(profiles); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseQuota reads arbitrary ConfigMap data: never a panic, and
// every resource it reports came from a .used or .limit key.
func FuzzParseQuota(f *testing.F) {
	f.Add("gpus.limit", "4", "mig-1g.10gb.used", "2")
	f.Add(".used", "1", "x.limit", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		r := ParseQuota(map[string]string{k1: v1, k2: v2, "tenant": "t"})
		for _, res := range r.Resources {
			if res.Name == "" {
				t.Fatalf("resource without a name from %q, %q", k1, k2)
			}
		}
	})
}
