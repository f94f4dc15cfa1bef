package simhw

import "testing"

func TestSharingTools(t *testing.T) {
	m, err := Load("workstation")
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.NewSimulatedNVML("ws")
	if err != nil {
		t.Fatal(err)
	}
	uuid := n.gpus[0].dev.UUID
	if err := n.SetTimeSlice(uuid, 2); err != nil || n.TimeSlice(uuid) != 2 {
		t.Fatalf("time slice: %v, level %d", err, n.TimeSlice(uuid))
	}
	for _, bad := range []int{-1, 4} {
		if err := n.SetTimeSlice(uuid, bad); err == nil {
			t.Errorf("level %d accepted", bad)
		}
	}
	if err := n.SetTimeSlice("GPU-nope", 1); err == nil {
		t.Error("unknown GPU accepted")
	}
	if err := n.StartMPS(uuid, "/pipe"); err != nil {
		t.Fatal(err)
	}
	if err := n.StartMPS(uuid, "/other"); err == nil {
		t.Error("second MPS daemon for one GPU started")
	}
	if dir, ok := n.MPSRunning(uuid); !ok || dir != "/pipe" {
		t.Errorf("MPSRunning = %q, %v", dir, ok)
	}
	if err := n.StopMPS(uuid); err != nil {
		t.Fatal(err)
	}
	if err := n.StopMPS(uuid); err == nil {
		t.Error("stopping a stopped daemon succeeded")
	}
}
