package schedperf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Profile names in KubeSchedulerConfigurations.
const (
	// HadronProfile is the profile of deploy/scheduler/config.yaml that
	// enables hadron's plugins.
	HadronProfile = "hadron-scheduler"
	// defaultProfile is the only profile scheduler_perf's pods name and
	// the only one whose attempts its throughput collector counts.
	defaultProfile = "default-scheduler"
)

// PerfDir returns scheduler_perf's directory in the k8s.io/kubernetes
// module this module builds with, so that the benchmark reads the
// configurations and templates of the scheduler it links.
func PerfDir(ctx context.Context) (string, error) {
	dir, err := goList(ctx, "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes")
	if err != nil {
		return "", fmt.Errorf("locate the k8s.io/kubernetes module: %w", err)
	}
	if dir == "" {
		return "", fmt.Errorf("k8s.io/kubernetes is not in the module cache; run go mod download k8s.io/kubernetes")
	}
	return filepath.Join(dir, "test", "integration", "scheduler_perf"), nil
}

// HadronAsDefault returns a KubeSchedulerConfiguration whose only profile
// is the hadron-scheduler profile of schedulerConfig, renamed
// default-scheduler: scheduler_perf's pod templates name no scheduler and
// its throughput collector counts that profile's attempts. Everything
// else of schedulerConfig (plugin arguments, global settings) is kept, so
// the benchmark follows the shipped configuration.
func HadronAsDefault(schedulerConfig []byte) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal(schedulerConfig, &cfg); err != nil {
		return nil, fmt.Errorf("scheduler configuration: %w", err)
	}
	profiles, _ := cfg["profiles"].([]any)
	for _, p := range profiles {
		profile, ok := p.(map[string]any)
		if !ok || profile["schedulerName"] != HadronProfile {
			continue
		}
		profile["schedulerName"] = defaultProfile
		cfg["profiles"] = []any{profile}
		return yaml.Marshal(cfg)
	}
	return nil, fmt.Errorf("scheduler configuration: no profile with schedulerName %s", HadronProfile)
}

// GenerateConfig returns src's upstream configuration, read from perfDir,
// reduced to src's workloads and made runnable from any directory:
//   - test cases and workloads not in src are dropped;
//   - labels are replaced by the workload's label (LabelSmoke or
//     LabelPerformance);
//   - thresholds are dropped: they are upstream CI's minimum pods/s on its
//     machines, not a pass mark for other machines or profiles;
//   - every file path is made absolute (scheduler_perf reads them relative
//     to the working directory);
//   - with a schedulerConfigPath, every test case uses that scheduler
//     configuration.
func GenerateConfig(perfDir string, src Source, schedulerConfigPath string) ([]byte, error) {
	file := filepath.Join(perfDir, filepath.FromSlash(src.Config))
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var testCases []map[string]any
	if err := yaml.Unmarshal(data, &testCases); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	labels := map[[2]string]string{}
	for _, w := range src.Workloads {
		labels[[2]string{w.TestCase, w.Name}] = w.Label
	}
	found := map[[2]string]bool{}
	var out []any
	for _, tc := range testCases {
		tcName, _ := tc["name"].(string)
		workloads, _ := tc["workloads"].([]any)
		var kept []any
		for _, wl := range workloads {
			w, ok := wl.(map[string]any)
			if !ok {
				continue
			}
			key := [2]string{tcName, fmt.Sprint(w["name"])}
			label, ok := labels[key]
			if !ok {
				continue
			}
			found[key] = true
			w["labels"] = []any{label}
			delete(w, "threshold")
			kept = append(kept, w)
		}
		if len(kept) == 0 {
			continue
		}
		tc["workloads"] = kept
		delete(tc, "labels")
		if schedulerConfigPath != "" {
			if own, ok := tc["schedulerConfigPath"]; ok {
				return nil, fmt.Errorf("%s: test case %s has its own scheduler configuration %v, which hadron's profile would replace", file, tcName, own)
			}
			tc["schedulerConfigPath"] = schedulerConfigPath
		}
		absolutePaths(tc, filepath.Dir(file))
		out = append(out, tc)
	}
	var missing []string
	for _, w := range src.Workloads {
		if !found[[2]string{w.TestCase, w.Name}] {
			missing = append(missing, w.TestCase+"/"+w.Name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("%s: no workloads %s; update Sources to this Kubernetes version", file, strings.Join(missing, ", "))
	}
	return yaml.Marshal(out)
}

// isPathKey tells the fields that scheduler_perf reads as files relative
// to the working directory: schedulerConfigPath and every *TemplatePath.
// filePath (of startCollectingProfile) is relative to -data-items-dir and
// stays.
func isPathKey(key string) bool {
	return key == "schedulerConfigPath" || strings.HasSuffix(strings.ToLower(key), "templatepath")
}

// absolutePaths rewrites the relative file paths in v, a decoded YAML
// value, against dir.
func absolutePaths(v any, dir string) {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if s, ok := val.(string); ok && isPathKey(k) && s != "" && !strings.HasPrefix(s, "$") && !filepath.IsAbs(s) {
				v[k] = filepath.Join(dir, filepath.FromSlash(s))
				continue
			}
			absolutePaths(val, dir)
		}
	case []any:
		for _, val := range v {
			absolutePaths(val, dir)
		}
	}
}

// ConfigFiles are the generated scheduler_perf configurations, by
// variant and source name.
type ConfigFiles map[string]map[string]string

// WriteConfigs writes, into dir, hadron's profile as the default profile
// and each source's configuration for each variant.
func WriteConfigs(dir, perfDir string, schedulerConfig []byte) (ConfigFiles, error) {
	hadron, err := HadronAsDefault(schedulerConfig)
	if err != nil {
		return nil, err
	}
	hadronPath := filepath.Join(dir, "hadron-scheduler-config.yaml")
	if err := os.WriteFile(hadronPath, hadron, 0o644); err != nil {
		return nil, err
	}
	files := ConfigFiles{}
	for _, v := range Variants {
		files[v.Name] = map[string]string{}
		schedulerConfigPath := ""
		if v.Hadron {
			schedulerConfigPath = hadronPath
		}
		for _, src := range Sources {
			data, err := GenerateConfig(perfDir, src, schedulerConfigPath)
			if err != nil {
				return nil, err
			}
			path := filepath.Join(dir, v.Name+"-"+src.Name+".yaml")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return nil, err
			}
			files[v.Name][src.Name] = path
		}
	}
	return files, nil
}

// stderrOf returns the captured standard error of a failed command, for
// error messages.
func stderrOf(err error) string {
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok && len(exitErr.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(exitErr.Stderr))
	}
	return ""
}
