package workspace

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/hadron-sched/hadron/scheduler-plugin/tenantquota"
)

func TestCreateIsAllOrNothing(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("admission denied")
	})
	c := &Client{Kube: kube, Namespace: "ns"}
	_, err := c.Create(t.Context(), builtin(t, "gpu-full"), "ws")
	if err == nil || !strings.Contains(err.Error(), "admission denied") {
		t.Fatalf("Create: %v, want the pod's error", err)
	}
	ctx := context.Background()
	if l, _ := kube.CoreV1().Services("ns").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("Service left behind: %v", l.Items)
	}
	if l, _ := kube.ResourceV1().ResourceClaimTemplates("ns").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("claim template left behind: %v", l.Items)
	}
}

func TestCreateListDelete(t *testing.T) {
	// An unrelated pod of another workspace's name must survive delete.
	unrelated := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns"}}
	kube := fake.NewClientset(unrelated)
	c := &Client{Kube: kube, Namespace: "ns"}
	ctx := t.Context()
	if _, err := c.Create(ctx, builtin(t, "gpu-full"), "train"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, builtin(t, "cpu-small"), "train"); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	// A reclaimed workspace: its Service remains with the annotation.
	reclaimed := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "ns",
		Labels:      map[string]string{LabelWorkspace: "old", LabelProfile: "cpu-small"},
		Annotations: map[string]string{AnnotationReclaimed: "2026-01-02T03:04:05Z idle for 8h"}}}
	if _, err := kube.CoreV1().Services("ns").Create(ctx, reclaimed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.Name+"/"+s.Profile+"/"+s.Phase)
	}
	if want := []string{"old/cpu-small/" + PhaseReclaimed, "train/gpu-full/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	var out strings.Builder
	if err := PrintList(&out, list, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "old was reclaimed: 2026-01-02T03:04:05Z idle for 8h") {
		t.Errorf("list output lacks the reclaim note:\n%s", out.String())
	}
	deleted, err := c.Delete(ctx, "train")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Pod", "Service", "ResourceClaimTemplate"}; !reflect.DeepEqual(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	if _, err := c.Delete(ctx, "other"); err == nil {
		t.Error("deleting a pod that is no workspace succeeded")
	}
	if _, err := kube.CoreV1().Pods("ns").Get(ctx, "other", metav1.GetOptions{}); err != nil {
		t.Errorf("unrelated pod deleted: %v", err)
	}
}

func TestExplainPending(t *testing.T) {
	tests := []struct {
		msg  string
		want PendingKind
	}{
		{"", PendingWaiting},
		{`tenant "physics": quota.hadron.dev/gpus exceeded: used 4, requested 1, limit 4`, PendingQuota},
		{`tenant "physics": quota label quota.hadron.dev/gpus="four": want a non-negative integer; its pods are held until the label is fixed`, PendingQuota},
		{`0/4 nodes are available: 1 claim ns/ws-devices-x: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0), 3 cannot allocate all claims.`, PendingAlignment},
		{"0/4 nodes are available: 4 cannot allocate all claims. preemption: not eligible", PendingCapacity},
		{"0/4 nodes are available: 4 Insufficient memory.", PendingCapacity},
		{"0/4 nodes are available: 4 node(s) had untolerated taint.", PendingOther},
	}
	for _, tt := range tests {
		pod := &v1.Pod{}
		if tt.msg != "" {
			pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable, Message: tt.msg}}
		}
		got := ExplainPending(pod, nil)
		if got.Kind != tt.want || !strings.HasPrefix(tt.msg, "0/") && got.Detail != tt.msg {
			t.Errorf("ExplainPending(%q) = %+v, want kind %s", tt.msg, got, tt.want)
		}
		if tt.want == PendingQuota && !strings.Contains(got.String(), "quota") {
			t.Errorf("quota reason does not mention the quota: %s", got)
		}
	}
	// The scheduler's wrapping goes; the plugin's message stays whole.
	pod := &v1.Pod{Status: v1.PodStatus{Conditions: []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse,
		Message: `0/4 nodes are available: tenant "t": quota.hadron.dev/gpus exceeded: used 5, requested 1, limit 5. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.`}}}}
	if got := ExplainPending(pod, nil); got.Detail != `tenant "t": quota.hadron.dev/gpus exceeded: used 5, requested 1, limit 5` {
		t.Errorf("quota detail %q", got.Detail)
	}
	capacity := ExplainPending(&v1.Pod{Status: v1.PodStatus{Conditions: []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse,
		Message: "0/4 nodes are available: 4 cannot allocate all claims. preemption: 0/4 nodes are available: 4 No preemption victims found."}}}}, nil)
	if capacity.Kind != PendingCapacity || capacity.Detail != "0/4 nodes are available: 4 cannot allocate all claims" {
		t.Errorf("capacity reason %+v", capacity)
	}
	// Without a condition message, the newest FailedScheduling event.
	now := time.Now()
	events := []v1.Event{
		{Reason: "FailedScheduling", Message: "0/1 nodes are available: 1 Insufficient cpu.", LastTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		{Reason: "FailedScheduling", Message: `tenant "t": quota.hadron.dev/gpus exceeded: used 1, requested 1, limit 1`, LastTimestamp: metav1.NewTime(now)},
	}
	if got := ExplainPending(&v1.Pod{}, events); got.Kind != PendingQuota {
		t.Errorf("from events: %+v, want quota", got)
	}
}

func TestParseQuota(t *testing.T) {
	r := ParseQuota(map[string]string{
		"tenant": "physics", "status": "ok", "namespaces": "a,b",
		"gpus.limit": "4", "gpus.used": "3", "mig-1g.10gb.limit": "2", "gpu-milli.used": "3000", "other": "x",
	})
	want := QuotaReport{Tenant: "physics", Status: "ok", Namespaces: []string{"a", "b"}, Resources: []QuotaResource{
		{Name: "gpu-milli", Used: "3000"}, {Name: "gpus", Used: "3", Limit: "4"}, {Name: "mig-1g.10gb", Used: "0", Limit: "2"},
	}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ParseQuota = %+v, want %+v", r, want)
	}
}

// The CLI reads the ConfigMap the scheduler publishes by default.
func TestQuotaConfigMapName(t *testing.T) {
	if QuotaConfigMap != tenantquota.DefaultConfigMapName {
		t.Errorf("QuotaConfigMap %q, scheduler publishes %q", QuotaConfigMap, tenantquota.DefaultConfigMapName)
	}
}

func TestLoadProfilesMergesAdminConfigMap(t *testing.T) {
	admin := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ProfilesConfigMap, Namespace: ProfilesNamespace},
		Data: map[string]string{ProfilesKey: "profiles:" + validProfile}}
	set, err := LoadProfiles(t.Context(), fake.NewClientset(admin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FindProfile(set.Profiles, "p"); err != nil {
		t.Error(err)
	}
	if _, err := FindProfile(set.Profiles, "gpu-full"); err != nil || set.Note != "" {
		t.Errorf("built-ins lost or note %q: %v", set.Note, err)
	}
	admin.Data[ProfilesKey] = "profiles: [{name: broken}]"
	if _, err := LoadProfiles(t.Context(), fake.NewClientset(admin)); err == nil || !strings.Contains(err.Error(), ProfilesConfigMap) {
		t.Errorf("invalid admin profiles: %v, want an error naming the ConfigMap", err)
	}
	set, err = LoadProfiles(t.Context(), fake.NewClientset())
	if err != nil || len(set.Profiles) == 0 {
		t.Errorf("without ConfigMap: %v, %d profiles", err, len(set.Profiles))
	}
}
