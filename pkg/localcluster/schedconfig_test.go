package localcluster

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestSchedulerConfig(t *testing.T) {
	const kubeconfig = "/var/lib/hadron/scheduler.kubeconfig"
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{
			"apiVersion":       "kubescheduler.config.k8s.io/v1",
			"kind":             "KubeSchedulerConfiguration",
			"clientConnection": map[string]any{"kubeconfig": kubeconfig, "qps": float64(200), "burst": float64(400)},
			"leaderElection":   map[string]any{"leaderElect": false},
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		in      string
		nilIn   bool
		want    map[string]any
		wantErr string
	}{
		{name: "nil", nilIn: true, want: base(nil)},
		{name: "empty", in: "", want: base(nil)},
		{name: "null document", in: "null\n", want: base(nil)},
		{
			name: "profiles and plugin args preserved",
			in: `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: hadron
  plugins:
    multiPoint:
      enabled:
      - name: HadronNUMA
        weight: 3
  pluginConfig:
  - name: HadronNUMA
    args:
      policy: single-numa
      custom: {nested: [1, 2]}
`,
			want: base(map[string]any{"profiles": []any{map[string]any{
				"schedulerName": "hadron",
				"plugins":       map[string]any{"multiPoint": map[string]any{"enabled": []any{map[string]any{"name": "HadronNUMA", "weight": float64(3)}}}},
				"pluginConfig": []any{map[string]any{"name": "HadronNUMA", "args": map[string]any{
					"policy": "single-numa", "custom": map[string]any{"nested": []any{float64(1), float64(2)}},
				}}},
			}}}),
		},
		{
			name: "apiVersion and kind defaulted",
			in:   "percentageOfNodesToScore: 100\n",
			want: base(map[string]any{"percentageOfNodesToScore": float64(100)}),
		},
		{
			name: "kubeconfig and leader election overridden, qps kept",
			in: `clientConnection:
  kubeconfig: /etc/kubernetes/scheduler.conf
  qps: 1000
  contentType: application/json
leaderElection:
  leaderElect: true
  resourceName: foo
`,
			want: base(map[string]any{
				"clientConnection": map[string]any{"kubeconfig": kubeconfig, "qps": float64(1000), "burst": float64(400), "contentType": "application/json"},
				"leaderElection":   map[string]any{"leaderElect": false, "resourceName": "foo"},
			}),
		},
		{
			name: "JSON input",
			in:   `{"kind":"KubeSchedulerConfiguration","clientConnection":null,"parallelism":32}`,
			want: base(map[string]any{"parallelism": float64(32)}),
		},
		{name: "wrong kind", in: "kind: KubeProxyConfiguration\n", wantErr: `kind is "KubeProxyConfiguration"`},
		{name: "kind not a string", in: "kind: 3\n", wantErr: "kind must be a string"},
		{name: "not a mapping", in: "- a\n- b\n", wantErr: "expected a mapping"},
		{name: "invalid YAML", in: "profiles: [\n", wantErr: "parse SchedulerConfig"},
		{name: "clientConnection not a mapping", in: "clientConnection: foo\n", wantErr: "clientConnection must be a mapping"},
		{name: "leaderElection not a mapping", in: "leaderElection: [true]\n", wantErr: "leaderElection must be a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in []byte
			if !tc.nilIn {
				in = []byte(tc.in)
			}
			out, err := schedulerConfig(in, kubeconfig)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(tc.want, got) {
				want, _ := yaml.Marshal(tc.want)
				t.Errorf("unexpected configuration\ngot:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}
