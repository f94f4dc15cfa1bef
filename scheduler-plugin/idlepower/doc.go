// Package idlepower is the IdlePower score plugin: it prefers the node
// where the pod's devices add the least power, so that work goes to GPUs
// and CPU packages that are already active instead of waking idle ones.
//
// The plugin estimates where the pod's devices land on each node (the
// first devices that fit in HadronDynamicResources' order, the order the
// allocator will search) and sums the marginal power of the GPUs and CPU
// packages they touch. A device's power at allocated fraction f (milli-GPU
// or MIG compute slices over the GPU's, CPUs over the package's) is
//
//	P(0) = 0 if idleCharged, else Idle
//	P(f) = Idle + (Max - Idle) * (floor + (1 - floor) * f * utilization)
//
// with Idle and Max from the devices' attributes (gpu.hadron.dev/
// idlePowerWatts and /maxPowerWatts, cpu.hadron.dev/packageIdleWatts and
// /packageMaxWatts). So waking an idle device costs its idle power plus the
// floor every active device draws plus the work's dynamic power, while
// adding work to an active one costs only the dynamic power. The binary
// per-GPU model of the PWR+FGD work (idle until something is allocated,
// then full) is idleCharged=false, activeFloorPercent=100,
// utilizationPercent=100; docs/scheduler.md explains the defaults.
//
// Nodes are ranked by the wake cost: each touched device's added power as
// a share of its own maximum, so that waking any GPU costs about the same
// and adding work to an active one little, whatever the model (ranking
// by watts sends every whole-GPU pod to the lowest-power model and
// strands those GPUs; a job's energy also depends on how long the slower
// GPU takes). Scores are in proportion to the costliest node's cost:
// 100 * (1 - cost/costliest). Devices without power attributes add
// nothing. The metrics report the added watts.
package idlepower
