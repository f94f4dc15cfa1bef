package helm

import (
	"net"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// containerPort resolves a probe's or Service's target port against the
// container's declared ports: by name, or by number when declared.
func containerPort(c corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if port.Type == intstr.String && p.Name == port.StrVal || port.Type == intstr.Int && p.ContainerPort == port.IntVal {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// TestKubeletPluginMetricsEndpoint checks that the port the plugin serves
// on (--metrics-address, parsed by its command) is the container's
// declared metrics port, that the liveness probe asks /healthz there, and
// that the headless metrics Service targets it on the plugin's pods; with
// metrics off, the plugin serves nothing and none of them is rendered.
func TestKubeletPluginMetricsEndpoint(t *testing.T) {
	tests := []struct {
		scenario scenario
		// port is the metrics port; 0 means metrics are off.
		port int32
	}{
		{defaults, 8080},
		{allFeatures, 9400},
		{simulated, 8080},
		{minimal, 0},
	}
	serviceName := releaseName + "-kubelet-plugin-metrics"
	for _, tc := range tests {
		t.Run(tc.scenario.name, func(t *testing.T) {
			objs := render(t, tc.scenario)
			s := typedScheme(t)
			ds := toTyped(t, s, findOne(t, objs, "DaemonSet", releaseName+"-kubelet-plugin")).(*appsv1.DaemonSet)
			c := ds.Spec.Template.Spec.Containers[0]
			address := parseArgs(t, pluginCommand(), c.Args, "v")["metrics-address"]

			if tc.port == 0 {
				if address != "" || len(c.Ports) != 0 || c.LivenessProbe != nil {
					t.Errorf("metrics off, yet --metrics-address=%q, ports %+v, liveness probe %+v", address, c.Ports, c.LivenessProbe)
				}
				for _, svc := range find(objs, "Service") {
					if svc.GetName() == serviceName {
						t.Errorf("metrics off, yet Service %s is rendered", serviceName)
					}
				}
				return
			}

			_, served, err := net.SplitHostPort(address)
			if err != nil {
				t.Fatalf("--metrics-address=%q: %v", address, err)
			}
			if served != strconv.Itoa(int(tc.port)) {
				t.Errorf("the plugin serves metrics on port %s, want %d", served, tc.port)
			}
			if port, ok := containerPort(c, intstr.FromString("metrics")); !ok || port != tc.port {
				t.Errorf("the container declares no TCP port %d named metrics: %+v", tc.port, c.Ports)
			}

			probe := c.LivenessProbe
			if probe == nil || probe.HTTPGet == nil {
				t.Fatalf("no HTTP liveness probe: %+v", probe)
			}
			if port, ok := containerPort(c, probe.HTTPGet.Port); !ok || port != tc.port || probe.HTTPGet.Path != "/healthz" ||
				probe.HTTPGet.Scheme != "" && probe.HTTPGet.Scheme != corev1.URISchemeHTTP {
				t.Errorf("liveness probe %+v does not ask http://:%d/healthz", probe.HTTPGet, tc.port)
			}

			svc := toTyped(t, s, findOne(t, objs, "Service", serviceName)).(*corev1.Service)
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("Service %s is not headless: every plugin pod is to be scraped", svc.Name)
			}
			if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(ds.Spec.Template.Labels)) {
				t.Errorf("Service selector %v does not select the plugin pods %v", svc.Spec.Selector, ds.Spec.Template.Labels)
			}
			if len(svc.Spec.Ports) != 1 {
				t.Fatalf("Service ports %+v, want the metrics port alone", svc.Spec.Ports)
			}
			if sp := svc.Spec.Ports[0]; sp.Port != tc.port {
				t.Errorf("Service port %d, want %d", sp.Port, tc.port)
			} else if port, ok := containerPort(c, sp.TargetPort); !ok || port != tc.port {
				t.Errorf("Service targets %s, not the container's metrics port %d", sp.TargetPort.String(), tc.port)
			}
		})
	}
}
