package gpu

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/klog/v2"

	"github.com/hadron-sched/hadron/pkg/attrs"
)

// applicationXIDs are XIDs caused by the workload, not the GPU (illegal
// memory access, graphics engine exceptions from user code, preemptive
// cleanup, ...): they never mark a GPU unhealthy.
var applicationXIDs = map[uint64]bool{13: true, 31: true, 43: true, 45: true, 68: true, 109: true}

// watchedEvents are the NVML events that mean the GPU itself is at fault.
const watchedEvents = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError

// healthState is what the family knows about its GPUs' health.
type healthState struct {
	mu        sync.Mutex
	unhealthy map[string]healthEvent // by GPU UUID
}

type healthEvent struct {
	reason string // a label value, e.g. "XID-79"
	since  time.Time
}

func (h *healthState) get(uuid string) (healthEvent, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.unhealthy[uuid]
	return e, ok
}

func (h *healthState) set(uuid string, e healthEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.unhealthy == nil {
		h.unhealthy = map[string]healthEvent{}
	}
	h.unhealthy[uuid] = e
}

// recover forgets events older than after, returning whether any was.
func (h *healthState) recover(now time.Time, after time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := false
	for uuid, e := range h.unhealthy {
		if now.Sub(e.since) >= after {
			delete(h.unhealthy, uuid)
			changed = true
		}
	}
	return changed
}

// Watch implements driver.Watcher: it listens for NVML's critical XID and
// double-bit ECC events and calls changed whenever a GPU's health changes.
// A GPU recovers after RecoverAfter without a new event (never when zero).
func (f *Family) Watch(ctx context.Context, changed func()) error {
	logger := klog.FromContext(ctx)
	set, ret := f.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return nvmlError("create event set", ret)
	}
	defer func() { _ = set.Free() }()
	host, _, err := f.discovered()
	if err != nil {
		return err
	}
	for _, g := range host.GPUs {
		dev, ret := f.lib.DeviceGetHandleByUUID(g.UUID)
		if ret != nvml.SUCCESS {
			return nvmlError("find GPU "+g.UUID, ret)
		}
		if ret := dev.RegisterEvents(watchedEvents, set); ret != nvml.SUCCESS {
			// Some boards cannot report events; they are treated as healthy.
			logger.Info("GPU health events not available", "gpu", g.UUID, "err", nvml.ErrorString(ret))
		}
	}
	recoverAfter := f.cfg.Health.RecoverAfterDuration()
	for ctx.Err() == nil {
		data, ret := set.Wait(500)
		switch ret {
		case nvml.SUCCESS:
		case nvml.ERROR_TIMEOUT:
			if recoverAfter > 0 && f.health.recover(time.Now(), recoverAfter) {
				logger.Info("GPU recovered")
				changed()
			}
			continue
		default:
			return nvmlError("wait for events", ret)
		}
		uuid, ret := data.Device.GetUUID()
		if ret != nvml.SUCCESS {
			continue
		}
		reason := "ECC-DBE"
		if data.EventType&nvml.EventTypeXidCriticalError != 0 {
			if applicationXIDs[data.EventData] {
				logger.V(2).Info("Ignoring application XID", "gpu", uuid, "xid", data.EventData)
				continue
			}
			reason = fmt.Sprintf("XID-%d", data.EventData)
		}
		logger.Info("GPU unhealthy", "gpu", uuid, "reason", reason)
		f.health.set(uuid, healthEvent{reason: reason, since: time.Now()})
		changed()
	}
	return nil
}

// taintUnhealthy marks every device of an unhealthy GPU so that the
// scheduler places nothing new on it; the taint's time stays that of the
// event so republishing does not churn.
func (f *Family) taintUnhealthy(g GPU, devices []resourceapi.Device) {
	e, ok := f.health.get(g.UUID)
	if !ok {
		return
	}
	for i := range devices {
		devices[i].Taints = append(devices[i].Taints, resourceapi.DeviceTaint{
			Key: attrs.GPUUnhealthyTaint, Value: e.reason, Effect: resourceapi.DeviceTaintEffectNoSchedule,
			TimeAdded: &metav1.Time{Time: e.since.Truncate(time.Second)},
		})
	}
}

// DeviceHealth implements driver.HealthChecker for the kubelet's health
// stream.
func (f *Family) DeviceHealth(context.Context) ([]kubeletplugin.DeviceHealth, error) {
	f.mu.Lock()
	devices := f.devices
	f.mu.Unlock()
	now := time.Now()
	out := make([]kubeletplugin.DeviceHealth, 0, len(devices))
	for name, info := range devices {
		h := kubeletplugin.DeviceHealth{PoolName: f.nodeName, DeviceName: name, Health: kubeletplugin.HealthStatusHealthy, LastUpdated: now}
		if e, ok := f.health.get(info.gpu.UUID); ok {
			h.Health, h.Message = kubeletplugin.HealthStatusUnhealthy, e.reason
		}
		out = append(out, h)
	}
	return out, nil
}
