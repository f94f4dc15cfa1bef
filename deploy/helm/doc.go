// Package helm holds hadron's Helm chart (hadron/) and its tests: lint and
// render checks with the helm binary the Makefile builds (HADRON_HELM),
// checks that the chart ships exactly the DeviceClasses, CRD, scheduler
// configuration and scheduler rights of deploy/, and an install of the
// rendered manifests on the local control plane that checks the plugin's
// RBAC and admission policies and runs its idle workspace reclaimer with
// them.
package helm
