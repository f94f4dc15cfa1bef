package workspace

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// ConnectHint tells how to reach a running workspace's ports from the
// user's machine, through the embedded kubectl.
func ConnectHint(svc *v1.Service) string {
	if svc == nil || len(svc.Spec.Ports) == 0 {
		return fmt.Sprintf("open a shell: hadron kubectl -n %s exec -it %s -- bash", namespaceOf(svc), nameOf(svc))
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprint(p.Port))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "connect: hadron kubectl -n %s port-forward svc/%s %s", svc.Namespace, svc.Name, strings.Join(ports, " "))
	for _, p := range svc.Spec.Ports {
		fmt.Fprintf(&b, "\n  then open http://localhost:%d (%s)", p.Port, p.Name)
	}
	fmt.Fprintf(&b, "\nshell:   hadron kubectl -n %s exec -it %s -- bash", svc.Namespace, svc.Name)
	return b.String()
}

func namespaceOf(svc *v1.Service) string {
	if svc == nil {
		return "<namespace>"
	}
	return svc.Namespace
}

func nameOf(svc *v1.Service) string {
	if svc == nil {
		return "<workspace>"
	}
	return svc.Name
}
