package localcluster

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

const (
	schedulerConfigAPIVersion = "kubescheduler.config.k8s.io/v1"
	schedulerConfigKind       = "KubeSchedulerConfiguration"

	// Client rate limits the scheduler gets unless the configuration sets
	// them. The kube-scheduler defaults (50/100) make benchmarks measure
	// client-side throttling rather than scheduling.
	defaultSchedulerQPS   = 200
	defaultSchedulerBurst = 400
)

// schedulerConfig returns the KubeSchedulerConfiguration YAML for the
// scheduler: user is the optional user-provided configuration (YAML or
// JSON), which is parsed generically so that fields of out-of-tree plugin
// arguments survive untouched. clientConnection.kubeconfig is set to
// kubeconfig, leaderElection.leaderElect to false, apiVersion and kind are
// defaulted and clientConnection.qps/burst are defaulted to 200/400.
func schedulerConfig(user []byte, kubeconfig string) ([]byte, error) {
	cfg := map[string]any{}
	if len(user) > 0 {
		var parsed any
		if err := yaml.Unmarshal(user, &parsed); err != nil {
			return nil, fmt.Errorf("parse SchedulerConfig: %w", err)
		}
		switch p := parsed.(type) {
		case nil:
			// Empty document or "null": default configuration.
		case map[string]any:
			cfg = p
		default:
			return nil, fmt.Errorf("parse SchedulerConfig: expected a mapping, got %T", parsed)
		}
	}

	if err := defaultString(cfg, "apiVersion", schedulerConfigAPIVersion); err != nil {
		return nil, err
	}
	if err := defaultString(cfg, "kind", schedulerConfigKind); err != nil {
		return nil, err
	}
	if kind := cfg["kind"]; kind != schedulerConfigKind {
		return nil, fmt.Errorf("SchedulerConfig: kind is %q, expected %q", kind, schedulerConfigKind)
	}

	clientConnection, err := subMap(cfg, "clientConnection")
	if err != nil {
		return nil, err
	}
	clientConnection["kubeconfig"] = kubeconfig
	if _, ok := clientConnection["qps"]; !ok {
		clientConnection["qps"] = defaultSchedulerQPS
	}
	if _, ok := clientConnection["burst"]; !ok {
		clientConnection["burst"] = defaultSchedulerBurst
	}

	leaderElection, err := subMap(cfg, "leaderElection")
	if err != nil {
		return nil, err
	}
	leaderElection["leaderElect"] = false

	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode scheduler configuration: %w", err)
	}
	return out, nil
}

// defaultString sets cfg[key] = value unless it is already set, and checks
// that an existing value is a string.
func defaultString(cfg map[string]any, key, value string) error {
	v, ok := cfg[key]
	if !ok || v == nil || v == "" {
		cfg[key] = value
		return nil
	}
	if _, ok := v.(string); !ok {
		return fmt.Errorf("SchedulerConfig: %s must be a string, got %T", key, v)
	}
	return nil
}

// subMap returns cfg[key] as a map, creating it if missing or null.
func subMap(cfg map[string]any, key string) (map[string]any, error) {
	switch v := cfg[key].(type) {
	case nil:
		m := map[string]any{}
		cfg[key] = m
		return m, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("SchedulerConfig: %s must be a mapping, got %T", key, v)
	}
}
