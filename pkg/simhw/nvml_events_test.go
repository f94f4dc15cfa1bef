package simhw

import (
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

const healthEvents = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError | nvml.EventTypeSingleBitEccError

func newSet(t *testing.T, lib nvml.Interface) nvml.EventSet {
	t.Helper()
	set, ret := lib.EventSetCreate()
	if ret != nvml.SUCCESS || set == nil {
		t.Fatalf("EventSetCreate() = %v, %v", set, ret)
	}
	t.Cleanup(func() { _ = set.Free() })
	return set
}

func register(t *testing.T, d nvml.Device, types uint64, set nvml.EventSet) {
	t.Helper()
	if ret := d.RegisterEvents(types, set); ret != nvml.SUCCESS {
		t.Fatalf("RegisterEvents(%#x) = %v", types, ret)
	}
}

func TestHealthEventDelivery(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d0, d1 := device(t, lib, 0), device(t, lib, 1)
	if types, ret := d0.GetSupportedEventTypes(); ret != nvml.SUCCESS || types != healthEvents {
		t.Errorf("GetSupportedEventTypes() = %#x, %v; want %#x", types, ret, healthEvents)
	}
	set := newSet(t, lib)
	register(t, d0, healthEvents, set)
	// d1 registers for ECC only; d2 not at all.
	if ret := lib.DeviceRegisterEvents(d1, nvml.EventTypeDoubleBitEccError, set); ret != nvml.SUCCESS {
		t.Fatalf("DeviceRegisterEvents = %v", ret)
	}

	tests := []struct {
		name   string
		inject func() error
		want   *nvml.EventData // nil: nothing delivered
	}{
		{"XID on a registered GPU", func() error { return lib.InjectXID(0, 79) },
			&nvml.EventData{Device: d0, EventType: nvml.EventTypeXidCriticalError, EventData: 79, GpuInstanceId: 0xFFFFFFFF, ComputeInstanceId: 0xFFFFFFFF}},
		{"double-bit ECC", func() error { return lib.InjectECCError(0, true) },
			&nvml.EventData{Device: d0, EventType: nvml.EventTypeDoubleBitEccError, GpuInstanceId: 0xFFFFFFFF, ComputeInstanceId: 0xFFFFFFFF}},
		{"single-bit ECC", func() error { return lib.InjectECCError(0, false) },
			&nvml.EventData{Device: d0, EventType: nvml.EventTypeSingleBitEccError, GpuInstanceId: 0xFFFFFFFF, ComputeInstanceId: 0xFFFFFFFF}},
		{"XID on a GPU registered for ECC only", func() error { return lib.InjectXID(1, 48) }, nil},
		{"ECC on a GPU registered for it", func() error { return lib.InjectECCError(1, true) },
			&nvml.EventData{Device: d1, EventType: nvml.EventTypeDoubleBitEccError, GpuInstanceId: 0xFFFFFFFF, ComputeInstanceId: 0xFFFFFFFF}},
		{"XID on an unregistered GPU", func() error { return lib.InjectXID(2, 79) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.inject(); err != nil {
				t.Fatalf("inject = %v", err)
			}
			ev, ret := lib.EventSetWait(set, 50)
			switch {
			case tt.want == nil && ret != nvml.ERROR_TIMEOUT:
				t.Errorf("Wait() = %+v, %v; want ERROR_TIMEOUT", ev, ret)
			case tt.want != nil && (ret != nvml.SUCCESS || ev != *tt.want):
				t.Errorf("Wait() = %+v, %v; want %+v", ev, ret, *tt.want)
			}
		})
	}
}

func TestEventSetWaitTimesOut(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxa100"), "")
	set := newSet(t, lib)
	register(t, device(t, lib, 0), healthEvents, set)
	for _, timeout := range []uint32{0, 60} {
		start := time.Now()
		if ev, ret := set.Wait(timeout); ret != nvml.ERROR_TIMEOUT {
			t.Errorf("Wait(%d) on an empty set = %+v, %v; want ERROR_TIMEOUT", timeout, ev, ret)
		}
		if took := time.Since(start); took < time.Duration(timeout)*time.Millisecond {
			t.Errorf("Wait(%d) returned after %v, before its timeout", timeout, took)
		}
	}
}

func TestEventSetWaitWakesPromptly(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxa100"), "")
	set := newSet(t, lib)
	register(t, device(t, lib, 3), nvml.EventTypeXidCriticalError, set)
	type result struct {
		ev  nvml.EventData
		ret nvml.Return
		at  time.Time
	}
	done := make(chan result)
	go func() {
		ev, ret := set.Wait(20000)
		done <- result{ev, ret, time.Now()}
	}()
	time.Sleep(20 * time.Millisecond)
	injected := time.Now()
	if err := lib.InjectXID(3, 31); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.ret != nvml.SUCCESS || r.ev.EventData != 31 {
			t.Errorf("Wait() = %+v, %v", r.ev, r.ret)
		}
		if lag := r.at.Sub(injected); lag > 2*time.Second {
			t.Errorf("Wait() returned %v after the injection", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait() did not return after an injection")
	}
}

func TestEventSetsAreIndependent(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d := device(t, lib, 0)
	a, b := newSet(t, lib), newSet(t, lib)
	register(t, d, nvml.EventTypeXidCriticalError, a)
	register(t, d, nvml.EventTypeXidCriticalError, b)
	// Registering again adds types.
	register(t, d, nvml.EventTypeSingleBitEccError, b)
	for _, xid := range []uint64{13, 43} {
		if err := lib.InjectXID(0, xid); err != nil {
			t.Fatal(err)
		}
	}
	if err := lib.InjectECCError(0, false); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]nvml.EventSet{"a": a, "b": b} {
		for _, xid := range []uint64{13, 43} { // in order
			if ev, ret := set.Wait(0); ret != nvml.SUCCESS || ev.EventData != xid {
				t.Errorf("set %s: Wait() = %+v, %v; want XID %d", name, ev, ret, xid)
			}
		}
	}
	if ev, ret := b.Wait(0); ret != nvml.SUCCESS || ev.EventType != nvml.EventTypeSingleBitEccError {
		t.Errorf("set b: Wait() = %+v, %v; want the ECC event", ev, ret)
	}
	if _, ret := a.Wait(0); ret != nvml.ERROR_TIMEOUT {
		t.Errorf("set a got an ECC event it did not register for: %v", ret)
	}
}

func TestMIGXIDEvent(t *testing.T) {
	lib, d := migNVML(t, "dgxh100", "")
	set := newSet(t, lib)
	register(t, d, nvml.EventTypeXidCriticalError, set)
	gi := mustGI(t, d, p1g, auto)
	mustGI(t, d, p1g, auto)
	fullCI(t, gi)
	if err := lib.InjectMIGXID(0, 0, 0, 94); err != nil {
		t.Fatalf("InjectMIGXID = %v", err)
	}
	if ev, ret := set.Wait(0); ret != nvml.SUCCESS || ev.GpuInstanceId != 0 || ev.ComputeInstanceId != 0 || ev.EventData != 94 || ev.Device != d {
		t.Errorf("Wait() = %+v, %v", ev, ret)
	}
	for _, ids := range [][2]int{{1, 0}, {0, 1}, {5, 0}, {-1, 0}} { // GI 1 has no CI
		if err := lib.InjectMIGXID(0, ids[0], ids[1], 94); err == nil {
			t.Errorf("InjectMIGXID(GI %d, CI %d) = nil, want an error", ids[0], ids[1])
		}
	}
	if err := lib.InjectMIGXID(1, 0, 0, 94); err == nil {
		t.Error("InjectMIGXID on a GPU without MIG mode = nil, want an error")
	}
}

func TestEventBadInput(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d := device(t, lib, 0)
	set := newSet(t, lib)
	if ret := d.RegisterEvents(nvml.EventTypeXidCriticalError|nvml.EventTypePState, set); ret != nvml.ERROR_NOT_SUPPORTED {
		t.Errorf("RegisterEvents(with PState) = %v, want ERROR_NOT_SUPPORTED", ret)
	}
	// Nothing was registered by the refused call.
	if err := lib.InjectXID(0, 79); err != nil {
		t.Fatal(err)
	}
	if _, ret := set.Wait(0); ret != nvml.ERROR_TIMEOUT {
		t.Errorf("refused registration still delivers: %v", ret)
	}
	if ret := d.RegisterEvents(nvml.EventTypeXidCriticalError, nil); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("RegisterEvents(nil set) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if ret := lib.DeviceRegisterEvents(nil, nvml.EventTypeXidCriticalError, set); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("DeviceRegisterEvents(nil device) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	for _, bad := range []struct {
		name string
		err  error
	}{
		{"InjectXID(-1)", lib.InjectXID(-1, 79)},
		{"InjectXID(8)", lib.InjectXID(8, 79)},
		{"InjectXID(xid 0)", lib.InjectXID(0, 0)},
		{"InjectECCError(8)", lib.InjectECCError(8, true)},
		{"InjectMIGXID(-1)", lib.InjectMIGXID(-1, 0, 0, 79)},
	} {
		if bad.err == nil {
			t.Errorf("%s = nil, want an error", bad.name)
		}
	}
}

func TestEventSetFree(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxh100"), "")
	d := device(t, lib, 0)
	set, ret := lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	register(t, d, healthEvents, set)
	waiting := make(chan nvml.Return)
	go func() {
		_, ret := set.Wait(20000)
		waiting <- ret
	}()
	time.Sleep(20 * time.Millisecond)
	if ret := lib.EventSetFree(set); ret != nvml.SUCCESS {
		t.Fatalf("EventSetFree() = %v", ret)
	}
	select {
	case ret := <-waiting:
		if ret != nvml.ERROR_INVALID_ARGUMENT {
			t.Errorf("Wait() interrupted by Free = %v, want ERROR_INVALID_ARGUMENT", ret)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Free() did not wake a waiter")
	}
	if err := lib.InjectXID(0, 79); err != nil {
		t.Errorf("InjectXID after Free = %v", err)
	}
	if _, ret := set.Wait(0); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("Wait() after Free = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if ret := set.Free(); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("second Free() = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if ret := d.RegisterEvents(nvml.EventTypeXidCriticalError, set); ret != nvml.ERROR_INVALID_ARGUMENT {
		t.Errorf("RegisterEvents(freed set) = %v, want ERROR_INVALID_ARGUMENT", ret)
	}
	if n := len(lib.gpus[0].events.sets); n != 0 {
		t.Errorf("GPU 0 still delivers to %d sets after Free", n)
	}
}

// TestEventsConcurrentUse has injectors on several GPUs race a waiter and
// MIG changes, as the driver's health goroutine races claim preparation:
// no event may be lost and no injector may block.
func TestEventsConcurrentUse(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "dgxa100"), "")
	set := newSet(t, lib)
	const gpus, perGPU = 4, 250
	for i := 0; i < gpus; i++ {
		register(t, device(t, lib, i), healthEvents, set)
	}
	received := make(chan int)
	go func() {
		n := 0
		for n < gpus*perGPU {
			if _, ret := set.Wait(5000); ret != nvml.SUCCESS {
				break
			}
			n++
		}
		received <- n
	}()
	var wg sync.WaitGroup
	for i := 0; i < gpus; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < perGPU; k++ {
				var err error
				if k%2 == 0 {
					err = lib.InjectXID(i, uint64(k+1))
				} else {
					err = lib.InjectECCError(i, k%3 == 0)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	d5 := device(t, lib, 5)
	wg.Add(1)
	go func() { // MIG churn on another GPU meanwhile
		defer wg.Done()
		if err := lib.SetMIGMode(5, true); err != nil {
			t.Error(err)
			return
		}
		d := d5
		info, _ := d.GetGpuInstanceProfileInfo(p1g)
		for k := 0; k < 50; k++ {
			gi, ret := d.CreateGpuInstance(&info)
			if ret != nvml.SUCCESS {
				t.Errorf("CreateGpuInstance = %v", ret)
				return
			}
			if ret := gi.Destroy(); ret != nvml.SUCCESS {
				t.Errorf("Destroy = %v", ret)
				return
			}
		}
	}()
	wg.Wait()
	select {
	case n := <-received:
		if n != gpus*perGPU {
			t.Errorf("received %d events, want %d", n, gpus*perGPU)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waiter did not receive every event")
	}
}

func TestInjectionNeverBlocks(t *testing.T) {
	lib := mustNVML(t, mustLoad(t, "workstation"), "")
	set := newSet(t, lib)
	register(t, device(t, lib, 0), nvml.EventTypeXidCriticalError, set)
	const n = 20000
	for i := 0; i < n; i++ { // nobody waits meanwhile
		if err := lib.InjectXID(0, 79); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if _, ret := set.Wait(0); ret != nvml.SUCCESS {
			t.Fatalf("event %d: Wait() = %v", i, ret)
		}
	}
	if _, ret := set.Wait(0); ret != nvml.ERROR_TIMEOUT {
		t.Errorf("Wait() on a drained set = %v, want ERROR_TIMEOUT", ret)
	}
}
