package trace

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Seeds are real rows of the openb traces, with and without their
// header, plus the malformed shapes of the table tests.
func FuzzReadNodes(f *testing.F) {
	fuzzRead(f, "ReadNodes", nodeHeader, readNodesString, []string{
		nodeHeader + "openb-node-0000,32000,262144,0,\nopenb-node-0001,64000,262144,2,P100\n",
		nodeHeader + "openb-node-0227,96000,786432,8,G2\nopenb-node-1476,96000,393216,8,G3\r\n",
		"model,gpu,sn,memory_mib,cpu_milli,extra\nT4,1,n,1024,8000,x\n",
		nodeHeader + "b,8000.5,1024,0,\nb,8000,1024,2,\nb,-1,1,0,\n\"q\",1,1,1,T4\n",
		nodeHeader + "a,82000,1,64,V100M32\na,1000,1,0,\n",
		"",
	}, fuzzCase[Node]{
		check: func(t *testing.T, n Node) string {
			if err := n.Validate(); err != nil {
				t.Fatalf("ReadNodes returned an invalid node: %v", err)
			}
			if _, err := BuildMachine(n); err != nil {
				t.Fatalf("a node ReadNodes accepts cannot be built: %v", err)
			}
			return n.Name
		},
		write: func(b *strings.Builder, n Node) {
			fmt.Fprintf(b, "%s,%d,%d,%d,%s\n", n.Name, n.CPUMilli, n.MemoryMiB, n.GPUs, n.Model)
		},
		normalize: func(read, again *Node) { read.Line, again.Line = 0, 0 },
	})
}

func FuzzReadPods(f *testing.F) {
	fuzzRead(f, "ReadPods", podHeader, readPodsString, []string{
		podHeader + "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\nopenb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061\n",
		podHeader + "openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,\nopenb-pod-0017,88000,360448,8,1000,V100M16|V100M32|V100M32,LS,Running,5,9,6\n",
		shortPodHeader + "openb-pod-0000,12000,16384,1,1000\nopenb-pod-0001,6000,12288,1,460\n",
		"gpu_milli,name,num_gpu,cpu_milli,memory_mib,deletion_time,creation_time\n1,p,1,0,0,5,5\n",
		podHeader + "b,1000,1,2,500,,BE,Running,1,2,1\nb,1000,1,0,0,,BE,Running,10,9,10\nb,1000,1,0,300,,,,1,2,\n",
		"name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\np,1,1,0,0,1\n",
		"name,cpu_milli,memory_mib,num_gpu,gpu_milli,scheduled_time\np,1,1,0,0,1\n",
	}, fuzzCase[Pod]{
		check: func(t *testing.T, p Pod) string {
			if err := p.Validate(); err != nil {
				t.Fatalf("ReadPods returned an invalid pod: %v", err)
			}
			if d := p.GPUMilliDemand(); d < 0 || d > maxPodGPUs*1000 || (p.NumGPU > 0) != (d > 0) {
				t.Fatalf("pod %+v has GPU demand %d", p, d)
			}
			return p.Name
		},
		write: func(b *strings.Builder, p Pod) {
			sched := ""
			if p.Scheduled {
				sched = fmt.Sprint(p.ScheduledTime)
			}
			fmt.Fprintf(b, "%s,%d,%d,%d,%d,%s,%s,%s,%d,%d,%s\n", p.Name, p.CPUMilli, p.MemoryMiB, p.NumGPU, p.GPUMilli,
				strings.Join(p.GPUSpec, "|"), p.QoS, p.Phase, p.CreationTime, p.DeletionTime, sched)
		},
		normalize: func(read, again *Pod) {
			read.Line, again.Line = 0, 0
			read.HasTimes = true // written with times (zero when absent)
		},
	})
}

// fuzzCase is what differs between the trace readers under fuzzRead.
type fuzzCase[T any] struct {
	// check fails t unless the item is one the reader may return, and
	// gives its name.
	check func(t *testing.T, item T) string
	// write writes the item back out as one row under the full header.
	write func(b *strings.Builder, item T)
	// normalize clears what a round trip may change, in both items.
	normalize func(read, again *T)
}

// fuzzRead seeds f with every seed in both malformed-row modes, then
// checks what read returns: nothing with an error, well-formed skipped
// rows, items that pass c.check with unique names, and items that read
// back the same once written out under header.
func fuzzRead[T any](f *testing.F, what, header string, read func(string, ReadOptions) ([]T, []*RowError, error), seeds []string, c fuzzCase[T]) {
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, skip bool) {
		opts := ReadOptions{Malformed: RejectMalformed}
		if skip {
			opts.Malformed = SkipMalformed
		}
		items, skipped, err := read(in, opts)
		if err != nil {
			if items != nil || skipped != nil {
				t.Fatalf("results with an error: %v", err)
			}
			return
		}
		checkRowErrors(t, skipped, skip)
		seen := map[string]bool{}
		for _, it := range items {
			name := c.check(t, it)
			if seen[name] {
				t.Fatalf("%s returned %q twice", what, name)
			}
			seen[name] = true
		}
		// What was read reads back the same once written out.
		var b strings.Builder
		b.WriteString(header)
		for _, it := range items {
			c.write(&b, it)
		}
		again, _, err := read(b.String(), ReadOptions{})
		if err != nil {
			t.Fatalf("re-reading %q: %v", b.String(), err)
		}
		if len(again) != len(items) {
			t.Fatalf("round trip read %d items, want %d", len(again), len(items))
		}
		for i := range items {
			c.normalize(&items[i], &again[i])
		}
		if !reflect.DeepEqual(items, again) {
			t.Fatalf("round trip changed the items:\n%+v\n%+v", items, again)
		}
	})
}

// checkRowErrors checks skipped rows: none unless skipping, each with a
// file, a data line and a message, in file order.
func checkRowErrors(t *testing.T, skipped []*RowError, skip bool) {
	t.Helper()
	if !skip && skipped != nil {
		t.Fatalf("reject mode returned skipped rows %v", skipped)
	}
	last := 0
	for _, e := range skipped {
		var re *RowError
		if !errors.As(error(e), &re) || e.File == "" || e.Line < 2 || e.Line <= last || e.Detail == "" {
			t.Fatalf("bad row error %#v after line %d", e, last)
		}
		last = e.Line
	}
}
