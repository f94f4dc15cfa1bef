package localenv_test

import (
	"fmt"
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
	modes, err := localenv.ParseNodes("dgxa100:mig=2,workstation:shared,dgxh100:whole")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range modes {
		got = append(got, fmt.Sprintf("%s:%s", n.Name, n.GPUConfig.DefaultMode))
	}
	if g := strings.Join(got, ","); g != "dgxa100-mig-1:mig,dgxa100-mig-2:mig,workstation-shared-1:shared,dgxh100-1:whole" {
		t.Fatalf("got %s", g)
	}
	for _, bad := range []string{"", "dgxh100=0", "dgxh100=x", "nope=1", ",", "dgxh100:fast", "dgxh100:"} {
		if _, err := localenv.ParseNodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
