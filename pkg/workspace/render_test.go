package workspace

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files and the generated JupyterHub files")

func builtin(t *testing.T, name string) Profile {
	t.Helper()
	profiles, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	p, err := FindProfile(profiles, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRender(t *testing.T) {
	tests := []struct {
		profile      string
		wantRequests []string
		wantAligned  []string
		wantSignal   string
	}{
		{profile: "cpu-small", wantSignal: SignalHeartbeat},
		{profile: "cpu-pinned-large", wantRequests: []string{"cpus"}, wantSignal: SignalHeartbeat},
		{profile: "gpu-1g-mig", wantRequests: []string{"mig"}, wantSignal: SignalGPUUtilization},
		{profile: "gpu-full", wantRequests: []string{"gpu", "cpus"}, wantAligned: []string{"gpu", "cpus"}, wantSignal: SignalGPUUtilization},
		{profile: "gpu-4-rdma", wantRequests: []string{"gpus", "cpus", "nic"}, wantAligned: []string{"gpus", "cpus", "nic"}, wantSignal: SignalGPUUtilization},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			p := builtin(t, tt.profile)
			objs, err := Render(p, "alice-ws", "physics")
			if err != nil {
				t.Fatal(err)
			}
			pod := objs.Pod
			if pod.Name != "alice-ws" || pod.Namespace != "physics" || pod.Spec.SchedulerName != SchedulerName {
				t.Errorf("pod %s/%s scheduler %q", pod.Namespace, pod.Name, pod.Spec.SchedulerName)
			}
			if pod.Labels[LabelWorkspace] != "alice-ws" || pod.Labels[LabelProfile] != tt.profile {
				t.Errorf("pod labels %v", pod.Labels)
			}
			if pod.Annotations[AnnotationActivitySignal] != tt.wantSignal || pod.Annotations[AnnotationIdleTimeout] != p.IdleTimeout().String() {
				t.Errorf("pod annotations %v", pod.Annotations)
			}
			c := pod.Spec.Containers[0]
			want := p.ResourceRequirements().Requests
			if c.Image != p.Image || !c.Resources.Requests.Cpu().Equal(*want.Cpu()) {
				t.Errorf("container %s resources %v", c.Image, c.Resources)
			}
			if objs.Service.Spec.Selector[LabelWorkspace] != "alice-ws" || objs.Service.Spec.Ports[0].Port != 8888 {
				t.Errorf("service %+v", objs.Service.Spec)
			}
			if len(tt.wantRequests) == 0 {
				if objs.ClaimTemplate != nil || len(pod.Spec.ResourceClaims) != 0 || len(c.Resources.Claims) != 0 {
					t.Fatalf("profile without devices rendered claims")
				}
				return
			}
			if len(pod.Spec.ResourceClaims) != 1 || *pod.Spec.ResourceClaims[0].ResourceClaimTemplateName != objs.ClaimTemplate.Name ||
				len(c.Resources.Claims) != 1 || c.Resources.Claims[0].Name != pod.Spec.ResourceClaims[0].Name {
				t.Errorf("pod claims %+v, container claims %+v, template %s", pod.Spec.ResourceClaims, c.Resources.Claims, objs.ClaimTemplate.Name)
			}
			var requests []string
			for _, r := range objs.ClaimTemplate.Spec.Spec.Devices.Requests {
				requests = append(requests, r.Name)
			}
			if !reflect.DeepEqual(requests, tt.wantRequests) {
				t.Errorf("requests %v, want %v", requests, tt.wantRequests)
			}
			constraints := objs.ClaimTemplate.Spec.Spec.Devices.Constraints
			if len(tt.wantAligned) > 0 {
				if len(constraints) != 1 || !reflect.DeepEqual(constraints[0].Requests, tt.wantAligned) ||
					string(*constraints[0].MatchAttribute) != "resource.kubernetes.io/numaNode" {
					t.Errorf("constraints %+v", constraints)
				}
			} else if len(constraints) != 0 {
				t.Errorf("unexpected constraints %+v", constraints)
			}
		})
	}
}

// TestRenderGolden pins the complete output for the richest profile and
// checks that rendering is deterministic.
func TestRenderGolden(t *testing.T) {
	p := builtin(t, "gpu-4-rdma")
	render := func() []byte {
		objs, err := Render(p, "train", "physics-alice")
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, obj := range []runtime.Object{objs.ClaimTemplate, objs.Service, objs.Pod} {
			data, err := marshalObject(obj)
			if err != nil {
				t.Fatal(err)
			}
			out = append(append(out, "---\n"...), data...)
		}
		return out
	}
	got := render()
	if again := render(); string(again) != string(got) {
		t.Fatal("two renderings differ")
	}
	golden := filepath.Join("testdata", "gpu-4-rdma.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("rendering differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestRenderRejectsBadName(t *testing.T) {
	if _, err := Render(builtin(t, "cpu-small"), "My_Workspace", "ns"); err == nil {
		t.Fatal("invalid workspace name accepted")
	}
}

func TestRenderWithoutPorts(t *testing.T) {
	p := builtin(t, "cpu-small")
	p.Ports = nil
	objs, err := Render(p, "batch", "ns")
	if err != nil {
		t.Fatal(err)
	}
	if objs.Service.Spec.ClusterIP != v1.ClusterIPNone {
		t.Errorf("a Service without ports must be headless, got %q", objs.Service.Spec.ClusterIP)
	}
}
