package workspace

import (
	"strings"
	"testing"
)

// validProfile is a small profile every case starts from.
const validProfile = `
- name: p
  displayName: P
  description: A profile.
  image: example.org/img:1
  resources:
    requests: {cpu: "2", memory: 8Gi}
    limits: {cpu: "4", memory: 8Gi}
  devices:
  - name: gpu
    class: gpu.hadron.dev
  - name: cpus
    class: cpu.hadron.dev
    capacity: {cpu.hadron.dev/cpus: "8"}
  align:
  - attribute: resource.kubernetes.io/numaNode
  idle: {timeout: 2h, signal: gpu-utilization}
  ports:
  - {name: jupyter, port: 8888}
`

func TestParseProfilesErrors(t *testing.T) {
	tests := []struct {
		name    string
		replace [2]string // applied to validProfile; empty: none
		extra   string    // appended to the profile list
		file    string    // whole file instead
		want    []string  // every one must be in the error; none: valid
	}{
		{name: "valid"},
		{name: "unknown field", replace: [2]string{"image:", "imagee: x\n  image:"}, want: []string{`unknown field "imagee"`}},
		{name: "unknown top-level field", file: "profile: []", want: []string{`unknown field "profile"`}},
		{name: "no profiles", file: "profiles: []", want: []string{"profiles: Required value: at least one profile"}},
		{name: "unknown class", replace: [2]string{"class: gpu.hadron.dev", "class: gpu.hadron.io"},
			want: []string{`profiles[p].devices[0].class: Unsupported value: "gpu.hadron.io"`, `"mig.gpu.hadron.dev"`}},
		{name: "bad capacity quantity", replace: [2]string{`cpu.hadron.dev/cpus: "8"`, `cpu.hadron.dev/cpus: "eight"`},
			want: []string{`profiles[p].devices[1].capacity[cpu.hadron.dev/cpus]: Invalid value: "eight": must be a quantity`}},
		{name: "capacity of another driver", replace: [2]string{`cpu.hadron.dev/cpus: "8"`, `gpu.hadron.dev/compute: "8"`},
			want: []string{`capacity[gpu.hadron.dev/compute]: Unsupported value`}},
		{name: "zero capacity", replace: [2]string{`cpu.hadron.dev/cpus: "8"`, `cpu.hadron.dev/cpus: "0"`},
			want: []string{"must be greater than zero"}},
		{name: "bad memory", replace: [2]string{"memory: 8Gi}\n    limits", "memory: 8 GiB}\n    limits"},
			want: []string{`profiles[p].resources.requests[memory]: Invalid value: "8 GiB"`}},
		{name: "limit below request", replace: [2]string{`limits: {cpu: "4"`, `limits: {cpu: "1"`},
			want: []string{`resources.limits[cpu]: Invalid value: "1": must not be less than the request (2)`}},
		{name: "unknown resource", replace: [2]string{`limits: {cpu: "4"`, `limits: {nvidia.com/gpu: "1", cpu: "4"`},
			want: []string{`resources.limits[nvidia.com/gpu]: Unsupported value`}},
		{name: "missing cpu request", replace: [2]string{`requests: {cpu: "2", memory: 8Gi}`, `requests: {memory: 8Gi}`},
			want: []string{`resources.requests[cpu]: Required value`}},
		{name: "duplicate profile", extra: strings.TrimPrefix(validProfile, "\n"), want: []string{`profiles[1].name: Duplicate value: "p"`}},
		{name: "invalid DNS name", replace: [2]string{"name: p\n", "name: GPU_Full\n"},
			want: []string{`profiles[GPU_Full].name: Invalid value: "GPU_Full"`}},
		{name: "missing name", replace: [2]string{"- name: p\n  displayName", "- displayName"}, want: []string{"profiles[0].name: Required value"}},
		{name: "too long name", replace: [2]string{"name: p\n", "name: " + strings.Repeat("a", 41) + "\n"}, want: []string{"Too long"}},
		{name: "constraint names unknown request", replace: [2]string{"numaNode\n", "numaNode\n    requests: [gpu, nic]\n"},
			want: []string{`profiles[p].align[0].requests[1]: Not found: "nic"`}},
		{name: "unqualified attribute", replace: [2]string{"resource.kubernetes.io/numaNode", "numaNode"},
			want: []string{`align[0].attribute: Invalid value: "numaNode": must be <domain>/<name>`}},
		{name: "duplicate request", replace: [2]string{"name: cpus", "name: gpu"}, want: []string{`devices[1].name: Duplicate value: "gpu"`}},
		{name: "bad count", replace: [2]string{"class: gpu.hadron.dev", "class: gpu.hadron.dev\n    count: 100"},
			want: []string{"devices[0].count: Invalid value: 100"}},
		{name: "negative count", replace: [2]string{"class: gpu.hadron.dev", "class: gpu.hadron.dev\n    count: -1"},
			want: []string{"devices[0].count: Invalid value: -1"}},
		{name: "bad CEL", replace: [2]string{"class: gpu.hadron.dev", "class: gpu.hadron.dev\n    selectors: ['device.attributes[\"gpu.hadron.dev\"].model ==']"},
			want: []string{"devices[0].selectors[0]: Invalid value"}},
		{name: "CEL of wrong type", replace: [2]string{"class: gpu.hadron.dev", "class: gpu.hadron.dev\n    selectors: ['device.driver']"},
			want: []string{"devices[0].selectors[0]: Invalid value", "bool"}},
		{name: "bad idle timeout", replace: [2]string{"timeout: 2h", "timeout: two hours"}, want: []string{`idle.timeout: Invalid value: "two hours"`}},
		{name: "negative idle timeout", replace: [2]string{"timeout: 2h", "timeout: -1h"}, want: []string{"must not be negative"}},
		{name: "unknown signal", replace: [2]string{"signal: gpu-utilization", "signal: keyboard"}, want: []string{`idle.signal: Unsupported value: "keyboard"`}},
		{name: "gpu signal without GPU", replace: [2]string{"  - name: gpu\n    class: gpu.hadron.dev\n", ""},
			want: []string{"idle.signal: Invalid value: \"gpu-utilization\": the profile has no GPU device"}},
		{name: "bad port", replace: [2]string{"port: 8888", "port: 0"}, want: []string{"ports[0].port: Invalid value: 0"}},
		{name: "bad port name", replace: [2]string{"name: jupyter", "name: Jupyter_Lab"}, want: []string{`ports[0].name: Invalid value: "Jupyter_Lab"`}},
		{name: "missing image", replace: [2]string{"  image: example.org/img:1\n", ""}, want: []string{"profiles[p].image: Required value"}},
		{name: "image with space", replace: [2]string{"image: example.org/img:1", "image: example.org/img 1"}, want: []string{"must not contain whitespace"}},
		{name: "missing display name", replace: [2]string{"  displayName: P\n", ""}, want: []string{"displayName: Required value"}},
		{name: "several errors at once", replace: [2]string{"port: 8888", "port: 70000"}, extra: "- name: q\n",
			want: []string{"ports[0].port", "profiles[q].image: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				body := validProfile
				if tt.replace[0] != "" {
					if !strings.Contains(body, tt.replace[0]) {
						t.Fatalf("test case does not apply: %q not in the profile", tt.replace[0])
					}
					body = strings.Replace(body, tt.replace[0], tt.replace[1], 1)
				}
				file = "profiles:" + body + tt.extra
			}
			profiles, err := ParseProfiles([]byte(file), DefaultValidator())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(profiles) != 1 {
					t.Fatalf("got %d profiles, want 1", len(profiles))
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestBuiltinProfiles(t *testing.T) {
	profiles, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range profiles {
		names = append(names, p.Name)
	}
	for _, want := range []string{"cpu-small", "cpu-pinned-large", "gpu-shared-quarter", "gpu-1g-mig", "gpu-full", "gpu-4-rdma"} {
		if _, err := FindProfile(profiles, want); err != nil {
			t.Errorf("built-in profile %s missing: %v (have %v)", want, err, names)
		}
	}
	if _, err := FindProfile(profiles, "gpu-1g"); err == nil || !strings.Contains(err.Error(), "gpu-1g-mig") {
		t.Errorf("FindProfile of an unknown profile: %v, want an error listing the profiles", err)
	}
}

func TestMergeProfiles(t *testing.T) {
	base := []Profile{{Name: "a", Image: "a:1"}, {Name: "b", Image: "b:1"}}
	got := MergeProfiles(base, []Profile{{Name: "c", Image: "c:1"}, {Name: "a", Image: "a:2"}})
	want := []string{"a=a:2", "b=b:1", "c=c:1"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, p := range got {
		if p.Name+"="+p.Image != want[i] {
			t.Errorf("profile %d = %s=%s, want %s", i, p.Name, p.Image, want[i])
		}
	}
	if base[0].Image != "a:1" {
		t.Error("MergeProfiles changed its input")
	}
}

func TestValidateWorkspaceName(t *testing.T) {
	for name, ok := range map[string]bool{"analysis": true, "a-1": true, "": false, "Analysis": false, "a.b": false, strings.Repeat("x", 41): false} {
		if err := ValidateWorkspaceName(name); (err == nil) != ok {
			t.Errorf("ValidateWorkspaceName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
