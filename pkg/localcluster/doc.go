/*
Package localcluster runs an embedded local Kubernetes control plane made of
real upstream components started as child processes:

  - etcd
  - kube-apiserver
  - kube-controller-manager
  - the scheduler (hadron-scheduler by default, any kube-scheduler build works)

It is what demos, integration tests and benchmarks use. Everything binds to
127.0.0.1 on free ports chosen at start, all state (certificates, keys,
tokens, kubeconfigs, etcd data, component logs) lives below Options.WorkDir,
and the child processes are killed when the parent dies (Pdeathsig).

There are no nodes and no kubelets; those are simulated by other packages
which should use FeatureGates so that they agree with the control plane.

Layout of WorkDir:

	admin.kubeconfig                 admin (system:masters), token based
	controller-manager.kubeconfig    used by kube-controller-manager
	scheduler.kubeconfig             used by the scheduler
	scheduler-config.yaml            the KubeSchedulerConfiguration
	pki/                             CA, serving, front proxy and service account keys, tokens.csv
	etcd-data/                       wiped at every Start
	logs/<component>.log             etcd, kube-apiserver, kube-controller-manager, scheduler

Tests should use the clustertest sub-package, which starts one cluster per
test package.
*/
package localcluster
