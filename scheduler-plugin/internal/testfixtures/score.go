package testfixtures

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"

	"github.com/hadron-sched/hadron/scheduler-plugin/internal/model"
	"github.com/hadron-sched/hadron/scheduler-plugin/internal/scoring"
)

// NewScorePlugin builds a hadron score plugin on m with its own device
// model, as its factory does: decode and newPlugin are the plugin
// package's, raw its arguments as JSON ("" for none).
func NewScorePlugin[A, P any](t *testing.T, m *Manager, fts feature.Features, raw string, decode func(runtime.Object) (A, error), newPlugin func(A, scoring.Base) P) P {
	t.Helper()
	var obj runtime.Object
	if raw != "" {
		obj = &runtime.Unknown{Raw: []byte(raw), ContentType: runtime.ContentTypeJSON}
	}
	args, err := decode(obj)
	if err != nil {
		t.Fatal(err)
	}
	return newPlugin(args, scoring.NewBase(m, &model.Shared{}, fts))
}

// ScorePlugin is what the score tests drive.
type ScorePlugin interface {
	fwk.PreScorePlugin
	fwk.ScorePlugin
}

// Scores runs a score plugin's PreScore, Score and NormalizeScore for pod
// over the nodes, the way the framework does within one cycle (state is
// that cycle's state, nil for a fresh one). It returns the final scores by
// node, or nil when PreScore skipped the pod.
func Scores(ctx context.Context, t *testing.T, pl ScorePlugin, state fwk.CycleState, pod *v1.Pod, nodes ...string) map[string]int64 {
	t.Helper()
	if state == nil {
		state = framework.NewCycleState()
	}
	infos := make([]fwk.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		info := framework.NewNodeInfo()
		info.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}})
		infos = append(infos, info)
	}
	status := pl.PreScore(ctx, state, pod, infos)
	if status.IsSkip() {
		return nil
	}
	if !status.IsSuccess() {
		t.Fatalf("PreScore: %v", status)
	}
	scores := make(fwk.NodeScoreList, 0, len(nodes))
	for _, info := range infos {
		s, status := pl.Score(ctx, state, pod, info)
		if !status.IsSuccess() {
			t.Fatalf("Score %s: %v", info.Node().Name, status)
		}
		scores = append(scores, fwk.NodeScore{Name: info.Node().Name, Score: s})
	}
	if ext := pl.ScoreExtensions(); ext != nil {
		if status := ext.NormalizeScore(ctx, state, pod, scores); !status.IsSuccess() {
			t.Fatalf("NormalizeScore: %v", status)
		}
	}
	out := map[string]int64{}
	for _, s := range scores {
		if s.Score < fwk.MinScore || s.Score > fwk.MaxScore {
			t.Errorf("node %s scored %d, outside [%d, %d]", s.Name, s.Score, fwk.MinScore, fwk.MaxScore)
		}
		out[s.Name] = s.Score
	}
	return out
}
