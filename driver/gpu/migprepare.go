package gpu

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// preparedMIG is the checkpointed record of a MIG partition created for a
// claim. The placement alone identifies the GPU instance (placements never
// overlap), so roll-back works even when a crash hit before the IDs were
// known.
type preparedMIG struct {
	ParentUUID string `json:"parentUUID"`
	Profile    string `json:"profile"`
	Start      uint32 `json:"start"`
	GIID       int    `json:"gpuInstanceID"`
	CIID       int    `json:"computeInstanceID"`
	UUID       string `json:"uuid"`
}

// createMIG creates the GPU instance at the allocated placement and one
// compute instance spanning it, and finds the resulting MIG device.
func createMIG(lib nvml.Interface, parentUUID string, p migProfile, placement nvml.GpuInstancePlacement) (preparedMIG, error) {
	rec := preparedMIG{ParentUUID: parentUUID, Profile: p.Name, Start: placement.Start}
	dev, ret := lib.DeviceGetHandleByUUID(parentUUID)
	if ret != nvml.SUCCESS {
		return rec, nvmlError("find GPU "+parentUUID, ret)
	}
	info := p.info
	gi, ret := dev.CreateGpuInstanceWithPlacement(&info, &placement)
	if ret != nvml.SUCCESS {
		return rec, nvmlError(fmt.Sprintf("create %s GPU instance at memory slice %d", p.Name, placement.Start), ret)
	}
	giInfo, ret := gi.GetInfo()
	if ret != nvml.SUCCESS {
		_ = gi.Destroy()
		return rec, nvmlError("read GPU instance", ret)
	}
	rec.GIID = int(giInfo.Id)
	ciInfo, err := fullComputeProfile(gi, p.SliceCount)
	if err != nil {
		_ = gi.Destroy()
		return rec, err
	}
	ci, ret := gi.CreateComputeInstance(&ciInfo)
	if ret != nvml.SUCCESS {
		_ = gi.Destroy()
		return rec, nvmlError("create compute instance", ret)
	}
	ciRead, ret := ci.GetInfo()
	if ret != nvml.SUCCESS {
		_ = destroyInstance(gi)
		return rec, nvmlError("read compute instance", ret)
	}
	rec.CIID = int(ciRead.Id)
	uuid, err := migDeviceUUID(dev, rec.GIID, rec.CIID)
	if err != nil {
		_ = destroyInstance(gi)
		return rec, err
	}
	rec.UUID = uuid
	return rec, nil
}

// fullComputeProfile is the compute-instance profile that uses every
// compute slice of the GPU instance: one workload owns the partition.
func fullComputeProfile(gi nvml.GpuInstance, slices int) (nvml.ComputeInstanceProfileInfo, error) {
	for id := 0; id < nvml.COMPUTE_INSTANCE_PROFILE_COUNT; id++ {
		info, ret := gi.GetComputeInstanceProfileInfo(id, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if ret == nvml.SUCCESS && int(info.SliceCount) == slices {
			return info, nil
		}
	}
	return nvml.ComputeInstanceProfileInfo{}, fmt.Errorf("no compute-instance profile with %d slices", slices)
}

func migDeviceUUID(dev nvml.Device, giID, ciID int) (string, error) {
	count, ret := dev.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return "", nvmlError("count MIG devices", ret)
	}
	for i := 0; i < count; i++ {
		mig, ret := dev.GetMigDeviceHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		gi, ret1 := mig.GetGpuInstanceId()
		ci, ret2 := mig.GetComputeInstanceId()
		if ret1 == nvml.SUCCESS && ret2 == nvml.SUCCESS && gi == giID && ci == ciID {
			uuid, ret := mig.GetUUID()
			if ret != nvml.SUCCESS {
				return "", nvmlError("get MIG device UUID", ret)
			}
			return uuid, nil
		}
	}
	return "", fmt.Errorf("MIG device of GPU instance %d / compute instance %d not found", giID, ciID)
}

// migInstance is a GPU instance found on a GPU.
type migInstance struct {
	gi    nvml.GpuInstance
	start uint32
}

// listMIG returns every GPU instance on a GPU.
func listMIG(dev nvml.Device) ([]migInstance, error) {
	var out []migInstance
	for id := 0; id < nvml.GPU_INSTANCE_PROFILE_COUNT; id++ {
		info, ret := dev.GetGpuInstanceProfileInfo(id)
		if ret != nvml.SUCCESS {
			continue
		}
		gis, ret := dev.GetGpuInstances(&info)
		if ret != nvml.SUCCESS {
			return nil, nvmlError("list GPU instances", ret)
		}
		for _, gi := range gis {
			giInfo, ret := gi.GetInfo()
			if ret != nvml.SUCCESS {
				return nil, nvmlError("read GPU instance", ret)
			}
			out = append(out, migInstance{gi: gi, start: giInfo.Placement.Start})
		}
	}
	return out, nil
}

// instancesOn lists the GPU instances on the GPU with uuid.
func instancesOn(lib nvml.Interface, uuid string) ([]migInstance, error) {
	dev, ret := lib.DeviceGetHandleByUUID(uuid)
	if ret != nvml.SUCCESS {
		return nil, nvmlError("find GPU "+uuid, ret)
	}
	return listMIG(dev)
}

// destroyMIG removes the GPU instance at a placement, if there is one.
func destroyMIG(lib nvml.Interface, parentUUID string, start uint32) error {
	instances, err := instancesOn(lib, parentUUID)
	if err != nil {
		return err
	}
	for _, in := range instances {
		if in.start == start {
			return destroyInstance(in.gi)
		}
	}
	return nil
}

// destroyInstance destroys a GPU instance's compute instances, then the
// GPU instance itself (the hardware refuses the reverse order).
func destroyInstance(gi nvml.GpuInstance) error {
	var errs []error
	for id := 0; id < nvml.COMPUTE_INSTANCE_PROFILE_COUNT; id++ {
		info, ret := gi.GetComputeInstanceProfileInfo(id, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if ret != nvml.SUCCESS {
			continue
		}
		cis, ret := gi.GetComputeInstances(&info)
		if ret != nvml.SUCCESS {
			continue
		}
		for _, ci := range cis {
			if ret := ci.Destroy(); ret != nvml.SUCCESS {
				errs = append(errs, nvmlError("destroy compute instance", ret))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if ret := gi.Destroy(); ret != nvml.SUCCESS {
		return nvmlError("destroy GPU instance", ret)
	}
	return nil
}
