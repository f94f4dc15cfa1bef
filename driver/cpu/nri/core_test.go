package nri

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// ctr builds a container for the core tests; cpus "" means unknown.
func ctr(id string, pod types.UID, cpus string, claims ...types.UID) *container {
	return &container{id: id, sandbox: "sb-" + string(pod), pod: pod, name: id, claims: claims, cpus: mustParse(cpus)}
}

// fmtUpdates renders updates as "id=cpus" for comparison.
func fmtUpdates(ups []update) []string {
	out := make([]string, 0, len(ups))
	for _, u := range ups {
		out = append(out, u.id+"="+u.cpus.String())
	}
	return out
}

func TestClaimsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want []types.UID
	}{
		{"none", []string{"PATH=/bin", "HOME=/root"}, nil},
		{"one", []string{"PATH=/bin", "HADRON_CPU_CLAIM_a_b=a-b"}, []types.UID{"a-b"}},
		{"several in order", []string{"HADRON_CPU_CLAIM_y=y", "HADRON_CPU_CLAIM_x=x"}, []types.UID{"y", "x"}},
		{"duplicates once", []string{"HADRON_CPU_CLAIM_x=x", "HADRON_CPU_CLAIM_x=x", "HADRON_CPU_CLAIM_z=x"}, []types.UID{"x"}},
		{"empty value", []string{"HADRON_CPU_CLAIM_x="}, nil},
		{"no equals sign", []string{"HADRON_CPU_CLAIM_x"}, nil},
		{"prefix only in value", []string{"FOO=HADRON_CPU_CLAIM_x=x"}, nil},
		{"human-facing cpuset ignored", []string{"HADRON_CPUSET_NUMA0=2-3"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := claimsFromEnv(tc.env); !slices.Equal(got, tc.want) {
				t.Errorf("claimsFromEnv(%q) = %q, want %q", tc.env, got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name          string
		online        string
		claims        map[types.UID]fakeClaim
		c             *container
		want          string // "" means: leave the container alone
		wantExclusive bool
		wantRejected  []rejection
	}{{
		name:   "container without claims gets the shared pool",
		online: "0-7", claims: claimC1("2-3", "p1"),
		c:    ctr("a", "p0", ""),
		want: "0-1,4-7",
	}, {
		name:   "exclusive container gets its claim's CPUs",
		online: "0-7", claims: claimC1("2-3", "p1"),
		c:    ctr("b", "p1", "", "c1"),
		want: "2-3", wantExclusive: true,
	}, {
		name:   "multiple claims are unioned",
		online: "0-7",
		claims: map[types.UID]fakeClaim{
			"c1": {mustParse("2-3"), []types.UID{"p1"}},
			"c2": {mustParse("6-7"), []types.UID{"p1"}},
		},
		c:    ctr("b", "p1", "", "c1", "c2"),
		want: "2-3,6-7", wantExclusive: true,
	}, {
		name:   "claim reserved for another pod is ignored",
		online: "0-7", claims: claimC1("2-3", "p1"),
		c:            ctr("f", "p2", "", "c1"),
		want:         "0-1,4-7",
		wantRejected: []rejection{{"c1", reasonOtherPod}},
	}, {
		name:   "unknown claim is ignored",
		online: "0-7", claims: claimC1("2-3", "p1"),
		c:            ctr("f", "p1", "", "c9"),
		want:         "0-1,4-7",
		wantRejected: []rejection{{"c9", reasonUnknownClaim}},
	}, {
		name:   "forged claim next to an own claim adds nothing",
		online: "0-7",
		claims: map[types.UID]fakeClaim{
			"c1": {mustParse("2-3"), []types.UID{"p1"}},
			"c2": {mustParse("6-7"), []types.UID{"p2"}},
		},
		c:             ctr("b", "p1", "", "c1", "c2"),
		want:          "2-3",
		wantExclusive: true,
		wantRejected:  []rejection{{"c2", reasonOtherPod}},
	}, {
		name:   "container of an unknown pod gets no claim",
		online: "0-7", claims: claimC1("2-3", ""),
		c:            ctr("f", "", "", "c1"),
		want:         "0-1,4-7",
		wantRejected: []rejection{{"c1", reasonOtherPod}},
	}, {
		name:   "claim reserved for several pods serves each",
		online: "0-7",
		claims: map[types.UID]fakeClaim{"c1": {mustParse("2-3"), []types.UID{"p1", "p2"}}},
		c:      ctr("b", "p2", "", "c1"),
		want:   "2-3", wantExclusive: true,
	}, {
		name:   "unknown online CPUs: leave alone",
		online: "", claims: claimC1("2-3", "p1"),
		c: ctr("b", "p1", "", "c1"),
	}, {
		name:   "empty shared pool: leave shared container alone",
		online: "0-3", claims: claimC1("0-3", "p1"),
		c: ctr("a", "p0", ""),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.online)
			f.claims = tc.claims
			d, ok := newView(f).decide(tc.c)
			switch {
			case tc.want == "" && ok:
				t.Fatalf("decide = %s, want the container left alone", d.cpus)
			case tc.want != "" && !ok:
				t.Fatalf("decide left the container alone, want %s", tc.want)
			case ok && d.cpus.String() != tc.want:
				t.Errorf("cpus = %s, want %s", d.cpus, tc.want)
			}
			if ok && d.exclusive != tc.wantExclusive {
				t.Errorf("exclusive = %v, want %v", d.exclusive, tc.wantExclusive)
			}
			if !slices.Equal(d.rejected, tc.wantRejected) {
				t.Errorf("rejected = %v, want %v", d.rejected, tc.wantRejected)
			}
		})
	}
}

// claimC1 is the driver state with one claim, c1.
func claimC1(cpus string, pod types.UID) map[types.UID]fakeClaim {
	return map[types.UID]fakeClaim{"c1": {mustParse(cpus), []types.UID{pod}}}
}

func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		online     string
		claims     map[types.UID]fakeClaim
		existing   []*container
		c          *container
		wantAdjust string // "" means no adjustment
		wantOthers []string
	}{{
		name:   "shared container is shrunk when a claim's container is created",
		online: "0-7", claims: claimC1("2-3", "p1"),
		existing:   []*container{ctr("a", "p0", "0-7")},
		c:          ctr("b", "p1", "", "c1"),
		wantAdjust: "2-3",
		wantOthers: []string{"a=0-1,4-7"},
	}, {
		name:   "two containers of two claims; the other exclusive one is untouched",
		online: "0-7",
		claims: map[types.UID]fakeClaim{
			"c1": {mustParse("2-3"), []types.UID{"p1"}},
			"c2": {mustParse("4-5"), []types.UID{"p2"}},
		},
		existing:   []*container{ctr("a", "p0", "0-3,6-7"), ctr("x", "p2", "4-5", "c2")},
		c:          ctr("b", "p1", "", "c1"),
		wantAdjust: "2-3",
		wantOthers: []string{"a=0-1,6-7"},
	}, {
		name:   "forged environment gets the shared pool and moves nothing",
		online: "0-7", claims: claimC1("2-3", "p1"),
		existing:   []*container{ctr("a", "p0", "0-1,4-7"), ctr("b", "p1", "2-3", "c1")},
		c:          ctr("f", "p9", "0-7", "c1", "c-unknown"),
		wantAdjust: "0-1,4-7",
	}, {
		name:   "every shared container not yet in the pool is moved",
		online: "0-7", claims: claimC1("2-3", "p1"),
		existing:   []*container{ctr("a1", "p0", "0-7"), ctr("a2", "p0", ""), ctr("a3", "p0", "0-1,4-7")},
		c:          ctr("b", "p1", "", "c1"),
		wantAdjust: "2-3",
		wantOthers: []string{"a1=0-1,4-7", "a2=0-1,4-7"},
	}, {
		name:   "unknown online CPUs: nothing is touched",
		online: "", claims: claimC1("2-3", "p1"),
		existing: []*container{ctr("a", "p0", "0-7")},
		c:        ctr("b", "p1", "", "c1"),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.online)
			f.claims = tc.claims
			s := newState()
			for _, c := range tc.existing {
				s.containers[c.id] = c
			}
			d, ok, others := s.create(newView(f), tc.c)
			if got := adjustString(d, ok); got != tc.wantAdjust {
				t.Errorf("adjust = %q, want %q", got, tc.wantAdjust)
			}
			if got := fmtUpdates(others); !slices.Equal(got, tc.wantOthers) {
				t.Errorf("updates = %q, want %q", got, tc.wantOthers)
			}
			if _, known := s.containers[tc.c.id]; !known {
				t.Errorf("created container %s not recorded", tc.c.id)
			}
			// The runtime now runs what was decided: nothing is left to do.
			if again := s.reconcile(newView(f)); len(again) != 0 {
				t.Errorf("second reconcile = %q, want none", fmtUpdates(again))
			}
		})
	}
}

func adjustString(d decision, ok bool) string {
	if !ok {
		return ""
	}
	return d.cpus.String()
}

func TestUnprepareGrowsSharedPool(t *testing.T) {
	f := newFake("0-7")
	s := newState()
	s.create(newView(f), ctr("a", "p0", ""))
	f.prepare("c1", "2-3", "p1")
	_, _, others := s.create(newView(f), ctr("b", "p1", "", "c1"))
	if got := fmtUpdates(others); !slices.Equal(got, []string{"a=0-1,4-7"}) {
		t.Fatalf("create updates = %q", got)
	}

	// The claim's container stops, then the kubelet unprepares the claim.
	s.forget("b")
	f.unprepare("c1")
	if got := fmtUpdates(s.reconcile(newView(f))); !slices.Equal(got, []string{"a=0-7"}) {
		t.Errorf("reconcile after unprepare = %q, want [a=0-7]", got)
	}
	if got := s.reconcile(newView(f)); len(got) != 0 {
		t.Errorf("reconcile is not idempotent: %q", fmtUpdates(got))
	}

	// An update the runtime could not apply is sent again.
	s.unknown("a", "gone")
	if got := fmtUpdates(s.reconcile(newView(f))); !slices.Equal(got, []string{"a=0-7"}) {
		t.Errorf("reconcile after failed update = %q, want [a=0-7]", got)
	}
}

func TestSynchronize(t *testing.T) {
	// A driver restart: the checkpoint says c1 is prepared for p1, the
	// runtime still runs containers with whatever cpusets they had.
	f := newFake("0-7").prepare("c1", "4-7", "p1")
	s := newState()
	s.containers["stale"] = ctr("stale", "p0", "0-7")
	ups, decisions := s.synchronize(newView(f), []*container{
		ctr("a", "p0", "0-7"),
		ctr("ok", "p0", "0-3"),
		ctr("b", "p1", "", "c1"),
		ctr("f", "p2", "4-7", "c1"),
	})
	want := []string{"a=0-3", "b=4-7", "f=0-3"}
	if got := fmtUpdates(ups); !slices.Equal(got, want) {
		t.Errorf("updates = %q, want %q", got, want)
	}
	if _, ok := s.containers["stale"]; ok {
		t.Error("synchronize kept a container the runtime no longer has")
	}
	if d := decisions["f"]; len(d.rejected) != 1 || d.exclusive {
		t.Errorf("forged container decision = %+v, want one rejection and the shared pool", d)
	}
}

func TestPin(t *testing.T) {
	f := newFake("0-7").prepare("c1", "2-3", "p1")
	s := newState()
	s.create(newView(f), ctr("b", "p1", "", "c1"))

	// The kubelet's static CPU manager rewrites the cpuset from its view.
	if cpus, ok := s.pin(newView(f), ctr("b", "p1", "0-7", "c1")); !ok || cpus.String() != "2-3" {
		t.Errorf("pin(exclusive) = %s, %v; want 2-3", cpus, ok)
	}
	// A container first seen in an update is recorded from the request.
	if cpus, ok := s.pin(newView(f), ctr("new", "p0", "0-7")); !ok || cpus.String() != "0-1,4-7" {
		t.Errorf("pin(unknown) = %s, %v; want 0-1,4-7", cpus, ok)
	}
	if _, ok := s.containers["new"]; !ok {
		t.Error("pin did not record the container")
	}
	s.forgetSandbox("sb-p0")
	if _, ok := s.containers["new"]; ok {
		t.Error("forgetSandbox kept the pod's container")
	}
}
