// Command hadron is hadron's command line: the local cluster, the demo,
// and an embedded kubectl.
package main

import (
	"fmt"
	"os"

	"github.com/hadron-sched/hadron/cmd/hadron/app"
)

func main() {
	if err := app.NewCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hadron:", err)
		os.Exit(1)
	}
}
