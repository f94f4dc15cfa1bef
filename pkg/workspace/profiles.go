package workspace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hadron-sched/hadron/deploy"
)

// Where a cluster admin adds or overrides profiles.
const (
	ProfilesConfigMap = "hadron-workspace-profiles"
	ProfilesNamespace = "hadron-system"
	ProfilesKey       = "profiles.yaml"
)

// BuiltinProfiles are the profiles of deploy/workspaces/profiles.yaml.
func BuiltinProfiles() ([]Profile, error) {
	profiles, err := ParseProfiles(deploy.WorkspaceProfiles, DefaultValidator())
	if err != nil {
		return nil, fmt.Errorf("built-in profiles: %w", err)
	}
	return profiles, nil
}

// MergeProfiles returns base with each profile of overrides replacing the
// one of the same name, and the new ones appended in their order.
func MergeProfiles(base, overrides []Profile) []Profile {
	out := slices.Clone(base)
	for _, o := range overrides {
		i := slices.IndexFunc(out, func(p Profile) bool { return p.Name == o.Name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// ProfileSet is the profiles a user can pick from, and a note when the
// admin's additions could not be read.
type ProfileSet struct {
	Profiles []Profile
	// Note says why only the built-in profiles are offered, or is empty.
	Note string
}

// LoadProfiles merges the admin's ConfigMap into the built-in profiles.
// A ConfigMap that is absent or that the user may not read leaves the
// built-ins, with a note; one that is invalid is an error, because
// silently offering other profiles than the admin wrote would mislead.
func LoadProfiles(ctx context.Context, client kubernetes.Interface) (ProfileSet, error) {
	builtin, err := BuiltinProfiles()
	if err != nil {
		return ProfileSet{}, err
	}
	cm, err := client.CoreV1().ConfigMaps(ProfilesNamespace).Get(ctx, ProfilesConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ProfileSet{Profiles: builtin}, nil
	case apierrors.IsForbidden(err):
		return ProfileSet{Profiles: builtin, Note: fmt.Sprintf(
			"not allowed to read ConfigMap %s/%s: showing the built-in profiles only (deploy/workspaces/rbac/profiles-reader.yaml grants it)",
			ProfilesNamespace, ProfilesConfigMap)}, nil
	case err != nil:
		return ProfileSet{}, fmt.Errorf("read admin profiles %s/%s: %w", ProfilesNamespace, ProfilesConfigMap, err)
	}
	data, ok := cm.Data[ProfilesKey]
	if !ok {
		return ProfileSet{}, fmt.Errorf("admin profiles %s/%s: no key %q", ProfilesNamespace, ProfilesConfigMap, ProfilesKey)
	}
	admin, err := ParseProfiles([]byte(data), DefaultValidator())
	if err != nil {
		return ProfileSet{}, fmt.Errorf("admin profiles %s/%s: %w", ProfilesNamespace, ProfilesConfigMap, err)
	}
	return ProfileSet{Profiles: MergeProfiles(builtin, admin)}, nil
}

// ErrUnknownProfile is wrapped by FindProfile's error.
var ErrUnknownProfile = errors.New("unknown profile")

// FindProfile returns the named profile; the error lists those there are.
func FindProfile(profiles []Profile, name string) (Profile, error) {
	var names []string
	for _, p := range profiles {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("%w %q; profiles: %s (hadron workspace profiles describes them)", ErrUnknownProfile, name, strings.Join(names, ", "))
}
