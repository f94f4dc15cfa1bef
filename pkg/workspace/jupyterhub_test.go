package workspace

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/hadron-sched/hadron/deploy"
)

// TestJupyterHubFilesUpToDate regenerates the committed JupyterHub files
// from the built-in profiles, so that they cannot drift.
func TestJupyterHubFilesUpToDate(t *testing.T) {
	profiles, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for file, render := range map[string]func([]Profile) ([]byte, error){
		"jupyterhub/values.yaml":          JupyterHubValues,
		"jupyterhub/claim-templates.yaml": JupyterHubClaimTemplates,
	} {
		want, err := render(profiles)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(filepath.Join("..", "..", "deploy", file), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := fs.ReadFile(deploy.JupyterHub, file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("deploy/%s is out of date: regenerate it with `hadron workspace jupyterhub-values --builtin-only` (or go test ./pkg/workspace -update)", file)
		}
	}
}

// hubValues is the part of the values that the profiles set.
type hubValues struct {
	Singleuser struct {
		ProfileList []struct {
			DisplayName         string `json:"display_name"`
			Description         string `json:"description"`
			Slug                string `json:"slug"`
			Default             bool   `json:"default"`
			KubespawnerOverride struct {
				Image                string            `json:"image"`
				SchedulerName        string            `json:"scheduler_name"`
				CPUGuarantee         float64           `json:"cpu_guarantee"`
				CPULimit             float64           `json:"cpu_limit"`
				MemGuarantee         int64             `json:"mem_guarantee"`
				MemLimit             int64             `json:"mem_limit"`
				ExtraLabels          map[string]string `json:"extra_labels"`
				ExtraPodConfig       v1.PodSpec        `json:"extra_pod_config"`
				ExtraContainerConfig v1.Container      `json:"extra_container_config"`
			} `json:"kubespawner_override"`
		} `json:"profileList"`
	} `json:"singleuser"`
}

// TestJupyterHubValuesMatchProfiles reads the committed values back and
// checks every profile entry against its profile, and that each claim
// template it names is in the committed templates with the profile's
// requests.
func TestJupyterHubValuesMatchProfiles(t *testing.T) {
	profiles, err := BuiltinProfiles()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(deploy.JupyterHub, "jupyterhub/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values hubValues
	if err := yaml.UnmarshalStrict(raw, &values); err != nil {
		t.Fatal(err)
	}
	templates, err := fs.ReadFile(deploy.JupyterHub, "jupyterhub/claim-templates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	entries := values.Singleuser.ProfileList
	if len(entries) != len(profiles) {
		t.Fatalf("%d profile entries, want %d", len(entries), len(profiles))
	}
	for i, p := range profiles {
		e := entries[i]
		o := e.KubespawnerOverride
		if e.Slug != p.Name || e.DisplayName != p.DisplayName || e.Description != p.Description || o.Image != p.Image {
			t.Errorf("entry %d (%s) does not match profile %s", i, e.Slug, p.Name)
		}
		if e.Default != (i == 0) {
			t.Errorf("%s: default %v; the first profile is the default", p.Name, e.Default)
		}
		if o.SchedulerName != SchedulerName || o.ExtraLabels[LabelProfile] != p.Name {
			t.Errorf("%s: scheduler %q, labels %v", p.Name, o.SchedulerName, o.ExtraLabels)
		}
		res := p.ResourceRequirements()
		container := o.ExtraContainerConfig.Resources
		for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			if !quantityEqual(container.Requests[name], res.Requests[name]) || !quantityEqual(container.Limits[name], res.Limits[name]) {
				t.Errorf("%s: container %s %v/%v, profile %v/%v", p.Name, name, container.Requests[name], container.Limits[name], res.Requests[name], res.Limits[name])
			}
		}
		if o.CPUGuarantee != float64(res.Requests.Cpu().MilliValue())/1000 || o.MemGuarantee != res.Requests.Memory().Value() ||
			o.CPULimit != float64(res.Limits.Cpu().MilliValue())/1000 || o.MemLimit != res.Limits.Memory().Value() {
			t.Errorf("%s: guarantees/limits cpu %v/%v mem %v/%v do not match the profile", p.Name, o.CPUGuarantee, o.CPULimit, o.MemGuarantee, o.MemLimit)
		}
		claims := o.ExtraPodConfig.ResourceClaims
		if len(p.Devices) == 0 {
			if len(claims) != 0 || len(container.Claims) != 0 {
				t.Errorf("%s: claims without devices", p.Name)
			}
			continue
		}
		if len(claims) != 1 || claims[0].ResourceClaimTemplateName == nil || *claims[0].ResourceClaimTemplateName != HubClaimTemplateName(p.Name) ||
			len(container.Claims) != 1 || container.Claims[0].Name != claims[0].Name {
			t.Errorf("%s: pod claims %+v, container claims %+v", p.Name, claims, container.Claims)
			continue
		}
		if !strings.Contains(string(templates), "name: "+HubClaimTemplateName(p.Name)+"\n") {
			t.Errorf("%s: template %s not in claim-templates.yaml", p.Name, HubClaimTemplateName(p.Name))
		}
		for _, d := range p.Devices {
			if !strings.Contains(string(templates), "deviceClassName: "+d.Class) {
				t.Errorf("%s: class %s not in claim-templates.yaml", p.Name, d.Class)
			}
		}
	}
}

func quantityEqual(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }
