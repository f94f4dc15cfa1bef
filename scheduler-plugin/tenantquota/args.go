package tenantquota

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Defaults of Args.
const (
	// DefaultTenantLabel is Capsule's namespace label naming the tenant.
	DefaultTenantLabel = "capsule.clastix.io/tenant"
	// DefaultConfigMapName is the ConfigMap that shows a tenant's usage
	// and limits in each of its namespaces.
	DefaultConfigMapName = "hadron-quota"
	// DefaultPublishInterval bounds how often a namespace's ConfigMap is
	// rewritten; it is only written when its content changed.
	DefaultPublishInterval = 2 * time.Second

	// minPublishInterval keeps a busy scheduler from writing ConfigMaps
	// on every allocation.
	minPublishInterval = 100 * time.Millisecond
)

// Args are the plugin's arguments (pluginConfig of TenantQuota). Every
// profile that enables the plugin must give the same arguments, because
// the profiles share one quota ledger.
type Args struct {
	metav1.TypeMeta `json:",inline"`

	// TenantLabel is the namespace label whose value names the namespace's
	// Tenant. Default: capsule.clastix.io/tenant.
	TenantLabel string `json:"tenantLabel,omitempty"`
	// ConfigMapName is the ConfigMap written into each tenant namespace
	// with the tenant's usage and limits. Default: hadron-quota.
	ConfigMapName string `json:"configMapName,omitempty"`
	// PublishInterval is the shortest time between two updates of the
	// ConfigMaps; "0s" turns publishing off. Default: 2s.
	PublishInterval *metav1.Duration `json:"publishInterval,omitempty"`
}

// SetDefaults fills in unset fields.
func (a *Args) SetDefaults() {
	if a.TenantLabel == "" {
		a.TenantLabel = DefaultTenantLabel
	}
	if a.ConfigMapName == "" {
		a.ConfigMapName = DefaultConfigMapName
	}
	if a.PublishInterval == nil {
		a.PublishInterval = &metav1.Duration{Duration: DefaultPublishInterval}
	}
}

// Validate checks defaulted arguments; the errors name the field.
func (a *Args) Validate() error {
	var errs field.ErrorList
	path := field.NewPath("args")
	for _, msg := range utilvalidation.IsQualifiedName(a.TenantLabel) {
		errs = append(errs, field.Invalid(path.Child("tenantLabel"), a.TenantLabel, msg))
	}
	for _, msg := range utilvalidation.IsDNS1123Subdomain(a.ConfigMapName) {
		errs = append(errs, field.Invalid(path.Child("configMapName"), a.ConfigMapName, msg))
	}
	if d := a.PublishInterval.Duration; d < 0 || (d > 0 && d < minPublishInterval) {
		errs = append(errs, field.Invalid(path.Child("publishInterval"), d.String(),
			fmt.Sprintf("must be 0s (no publishing) or at least %s", minPublishInterval)))
	}
	return errs.ToAggregate()
}

// decodeArgs turns the plugin configuration into defaulted, validated
// Args. Unknown fields are errors, so that a misspelt option is not
// silently ignored.
func decodeArgs(obj runtime.Object) (*Args, error) {
	args := &Args{}
	switch o := obj.(type) {
	case nil:
	case *Args:
		*args = *o
	case *runtime.Unknown:
		if err := decodeStrict(o, args); err != nil {
			return nil, fmt.Errorf("decode %s args: %w", Name, err)
		}
	default:
		return nil, fmt.Errorf("%s args: want *runtime.Unknown or *tenantquota.Args, got %T", Name, obj)
	}
	args.SetDefaults()
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("%s args: %w", Name, err)
	}
	return args, nil
}

func decodeStrict(u *runtime.Unknown, into *Args) error {
	if len(u.Raw) == 0 {
		return nil
	}
	switch u.ContentType {
	case runtime.ContentTypeJSON, "":
		dec := json.NewDecoder(bytes.NewReader(u.Raw))
		dec.DisallowUnknownFields()
		return dec.Decode(into)
	case runtime.ContentTypeYAML:
		return yaml.UnmarshalStrict(u.Raw, into)
	default:
		return fmt.Errorf("unsupported content type %q", u.ContentType)
	}
}

// DeepCopyObject makes Args a runtime.Object, as plugin arguments are.
func (a *Args) DeepCopyObject() runtime.Object {
	c := *a
	if a.PublishInterval != nil {
		d := *a.PublishInterval
		c.PublishInterval = &d
	}
	return &c
}
