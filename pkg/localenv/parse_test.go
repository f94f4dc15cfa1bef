package localenv_test

import (
	"strings"
	"testing"

	"github.com/hadron-sched/hadron/pkg/localenv"
)

func TestParseNodes(t *testing.T) {
	nodes, err := localenv.ParseNodes("dgxh100=2, workstation")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name+":"+n.Machine)
	}
	if got := strings.Join(names, ","); got != "dgxh100-1:dgxh100,dgxh100-2:dgxh100,workstation-1:workstation" {
		t.Fatalf("got %s", got)
	}
	for _, bad := range []string{"", "dgxh100=0", "dgxh100=x", "nope=1", ","} {
		if _, err := localenv.ParseNodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
