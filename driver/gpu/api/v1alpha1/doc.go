// Package v1alpha1 is the configuration a ResourceClaim can pass to
// hadron's GPU driver, gpu.hadron.dev: how the GPUs, MIG devices or GPU
// shares a claim gets are shared between the containers and processes
// using them.
//
// The configuration goes in the claim's (or the DeviceClass's) opaque
// device configuration, addressed to the driver:
//
//	apiVersion: resource.k8s.io/v1
//	kind: ResourceClaim
//	metadata:
//	  name: inference
//	spec:
//	  devices:
//	    requests:
//	    - name: gpu
//	      exactly:
//	        deviceClassName: gpu.hadron.dev
//	    config:
//	    - requests: ["gpu"]
//	      opaque:
//	        driver: gpu.hadron.dev
//	        parameters:
//	          apiVersion: gpu.hadron.dev/v1alpha1
//	          kind: GpuConfig
//	          sharing:
//	            strategy: MPS
//	            mps:
//	              defaultActiveThreadPercentage: 50
//	              defaultPinnedDeviceMemoryLimit: 10Gi
//
// The driver reads the parameters when it prepares the claim on the node.
// It reads them strictly: apiVersion and kind must be exactly
// gpu.hadron.dev/v1alpha1 and GpuConfig, field names are case-sensitive,
// and an unknown or repeated field is an error rather than being ignored,
// so that a typo cannot quietly drop a setting. A configuration that does
// not decode fails the claim's preparation, and the pod's events name the
// field at fault, e.g.
//
//	sharing.mps.defaultActiveThreadPercentage: 150 must be between 1 and 100
//
// A claim without a GpuConfig, or with one that has no sharing section,
// gets the defaults the cluster administrator configured for the driver.
package v1alpha1
