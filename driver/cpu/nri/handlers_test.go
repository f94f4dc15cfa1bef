package nri

import (
	"context"
	"maps"
	"testing"

	"github.com/containerd/nri/pkg/api"
)

// These tests call the NRI handlers directly, without a connection.

func newTestPlugin(t *testing.T, f *fakeAssignments) *Plugin {
	t.Helper()
	p, err := New(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpdateContainerKeepsClaimCPUs(t *testing.T) {
	f := newFake("0-7").prepare("c1", "2-3", "pod-b")
	p := newTestPlugin(t, f)
	h := handler{p: p}
	podB := pod("pod-b")
	b1 := nriContainer("b1", podB, running, "", "c1")
	if _, _, err := h.CreateContainer(context.Background(), podB, b1); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		requested string
		want      map[string]string
	}{
		{"cpuset untouched by the request", "", map[string]string{}},
		{"kubelet widens the cpuset", "0-7", map[string]string{"b1": "2-3"}},
		{"request already right", "2-3", map[string]string{}},
		{"unparsable request", "x", map[string]string{"b1": "2-3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &api.LinuxResources{Cpu: &api.LinuxCPU{Cpus: tc.requested}}
			ups, err := h.UpdateContainer(context.Background(), podB, b1, res)
			if err != nil {
				t.Fatal(err)
			}
			if got := cpusOf(ups); !maps.Equal(got, tc.want) {
				t.Errorf("updates = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSynchronizeHandler(t *testing.T) {
	f := newFake("0-7").prepare("c1", "4-7", "pod-b")
	p := newTestPlugin(t, f)
	podA, podB := pod("pod-a"), pod("pod-b")
	ctrs := []*api.Container{
		nriContainer("a1", podA, running, "0-7"),
		nriContainer("b1", podB, api.ContainerState_CONTAINER_CREATED, "", "c1"),
		nriContainer("gone", podA, stopped, "0-7"),
		// A container whose pod the runtime did not list gets no claim.
		nriContainer("orphan", pod("pod-x"), running, "0-3", "c1"),
	}

	p.gen = 2
	if ups, err := (handler{p: p, gen: 1}).Synchronize(context.Background(), []*api.PodSandbox{podA, podB}, ctrs); err != nil || ups != nil {
		t.Errorf("stale handler: Synchronize = %v, %v; want nothing", ups, err)
	}
	if p.synced {
		t.Error("a stale handler marked the plugin synchronised")
	}

	ups, err := (handler{p: p, gen: 2}).Synchronize(context.Background(), []*api.PodSandbox{podA, podB}, ctrs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a1": "0-3", "b1": "4-7"}
	if got := cpusOf(ups); !maps.Equal(got, want) {
		t.Errorf("updates = %v, want %v", got, want)
	}
	if !p.synced {
		t.Error("Synchronize did not mark the plugin synchronised")
	}
	for _, u := range ups {
		if !u.GetIgnoreFailure() {
			t.Errorf("update of %s must not fail the synchronisation", u.GetContainerId())
		}
	}

	// Removal forgets: the claim's containers and the pod's leftovers.
	if _, err := (handler{p: p}).StopContainer(context.Background(), podB, ctrs[1]); err != nil {
		t.Fatal(err)
	}
	if err := (handler{p: p}).RemovePodSandbox(context.Background(), podA); err != nil {
		t.Fatal(err)
	}
	if got := len(p.state.containers); got != 1 {
		t.Errorf("%d containers left, want only the orphan", got)
	}
}
