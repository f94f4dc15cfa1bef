package workspace

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// QuotaConfigMap is the ConfigMap hadron-scheduler's TenantQuota plugin
// publishes in each tenant namespace (its default configMapName).
const QuotaConfigMap = "hadron-quota"

// QuotaReport is a tenant's usage and limits as seen from one namespace.
type QuotaReport struct {
	Namespace  string
	Tenant     string
	Status     string
	Namespaces []string
	Resources  []QuotaResource
}

// QuotaResource is one resource's usage and limit ("" when unlimited),
// in the quota labels' units.
type QuotaResource struct {
	Name, Used, Limit string
}

// Quota reads the namespace's published quota.
func (c *Client) Quota(ctx context.Context) (QuotaReport, error) {
	cm, err := c.Kube.CoreV1().ConfigMaps(c.Namespace).Get(ctx, QuotaConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return QuotaReport{}, fmt.Errorf("no ConfigMap %s in namespace %s: the namespace belongs to no tenant with a quota, "+
			"or hadron-scheduler does not publish usage (docs/quota.md)", QuotaConfigMap, c.Namespace)
	}
	if err != nil {
		return QuotaReport{}, fmt.Errorf("read ConfigMap %s/%s: %w", c.Namespace, QuotaConfigMap, err)
	}
	r := ParseQuota(cm.Data)
	r.Namespace = c.Namespace
	return r, nil
}

// ParseQuota reads the published ConfigMap's data: tenant, status,
// namespaces, and <resource>.used / <resource>.limit. Other keys are
// ignored, so that a newer scheduler may add some.
func ParseQuota(data map[string]string) QuotaReport {
	r := QuotaReport{Tenant: data["tenant"], Status: data["status"]}
	if ns := data["namespaces"]; ns != "" {
		r.Namespaces = strings.Split(ns, ",")
	}
	byName := map[string]*QuotaResource{}
	for key, value := range data {
		name, suffix, ok := cutLast(key, ".")
		if !ok || name == "" || (suffix != "used" && suffix != "limit") {
			continue
		}
		res, ok := byName[name]
		if !ok {
			res = &QuotaResource{Name: name}
			byName[name] = res
		}
		if suffix == "used" {
			res.Used = value
		} else {
			res.Limit = value
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		res := *byName[name]
		if res.Used == "" {
			res.Used = "0"
		}
		r.Resources = append(r.Resources, res)
	}
	return r
}

// cutLast splits s around the last sep: resource names such as
// mig-1g.10gb contain dots themselves.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
