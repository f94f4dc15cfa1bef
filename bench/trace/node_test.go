package trace

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const nodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n"

func readNodesString(s string, opts ReadOptions) ([]Node, []*RowError, error) {
	return ReadNodes(strings.NewReader(s), "nodes.csv", opts)
}

func TestReadNodes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Node
	}{
		{
			name: "trace rows",
			in:   nodeHeader + "openb-node-0000,32000,262144,0,\nopenb-node-0001,64000,262144,2,P100\n",
			want: []Node{
				{Name: "openb-node-0000", CPUMilli: 32000, MemoryMiB: 262144, Line: 2},
				{Name: "openb-node-0001", CPUMilli: 64000, MemoryMiB: 262144, GPUs: 2, Model: "P100", Line: 3},
			},
		},
		{
			name: "columns in another order, an unknown column, CRLF, BOM, blank lines",
			in:   "\ufeffModel, gpu ,extra,sn,memory_mib,cpu_milli\r\n\r\nT4,1,x,n-1,1024,8000\r\n   \n,0,y,n-2,2048,1000\r\n",
			want: []Node{
				{Name: "n-1", CPUMilli: 8000, MemoryMiB: 1024, GPUs: 1, Model: "T4", Line: 3},
				{Name: "n-2", CPUMilli: 1000, MemoryMiB: 2048, Line: 5},
			},
		},
		{
			name: "no final newline",
			in:   nodeHeader + "n,1000,1,8,G3",
			want: []Node{{Name: "n", CPUMilli: 1000, MemoryMiB: 1, GPUs: 8, Model: "G3", Line: 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := readNodesString(tc.in, ReadOptions{})
			if err != nil || skipped != nil {
				t.Fatalf("ReadNodes() = _, %v, %v", skipped, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadNodes() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestReadNodesRejects has one case per kind of malformed node row; each
// must fail the read with its line and column.
func TestReadNodesRejects(t *testing.T) {
	tests := []struct {
		name string
		rows string // after the header and one good row (line 2)
		want string // the whole error
	}{
		{"non-integer cpu", "b,8000.5,1024,0,\n", "nodes.csv:3: column cpu_milli: \"8000.5\" is not an integer"},
		{"signed integer", "b,+8000,1024,0,\n", "nodes.csv:3: column cpu_milli: \"+8000\" is not an integer"},
		{"spaces in an integer", "b, 8000,1024,0,\n", "nodes.csv:3: column cpu_milli: \" 8000\" is not an integer"},
		{"empty integer", "b,,1024,0,\n", "nodes.csv:3: column cpu_milli: is empty (want a non-negative integer)"},
		{"negative memory", "b,8000,-1,0,\n", "nodes.csv:3: column memory_mib: -1 is negative"},
		{"negative gpu", "b,8000,1024,-2,T4\n", "nodes.csv:3: column gpu: -2 is negative"},
		{"overflow", "b,8000,99999999999999999999,0,\n", "nodes.csv:3: column memory_mib: 99999999999999999999 is out of range [0, 4294967296]"},
		{"too many gpus", "b,8000,1024,65,T4\n", "nodes.csv:3: column gpu: 65 is out of range [0, 64]"},
		{"zero cpu", "b,0,1024,0,\n", "nodes.csv:3: column cpu_milli: 0 is out of range [1000, 8192000] for a node"},
		{"zero memory", "b,8000,0,0,\n", "nodes.csv:3: column memory_mib: 0 is out of range [1, 4294967296] for a node"},
		{"gpus without a model", "b,8000,1024,2,\n", "nodes.csv:3: column model: is empty although the node has 2 GPUs"},
		{"a model without gpus", "b,8000,1024,0,T4\n", "nodes.csv:3: column model: \"T4\" is given although the node has no GPU"},
		{"unknown model", "b,8000,1024,2,K80\n", "nodes.csv:3: column model: unknown GPU model \"K80\" (known: A10, G2, G3, P100, T4, V100M16, V100M32)"},
		{"lower-case model", "b,8000,1024,2,t4\n", "nodes.csv:3: column model: unknown GPU model \"t4\" (known: A10, G2, G3, P100, T4, V100M16, V100M32)"},
		{"duplicate name", "a,8000,1024,0,\n", "nodes.csv:3: column sn: \"a\" duplicates the node of line 2"},
		{"too few fields", "b,8000,1024,0\n", "nodes.csv:3: has 4 fields, the header has 5"},
		{"too many fields", "b,8000,1024,0,,\n", "nodes.csv:3: has 6 fields, the header has 5"},
		{"empty name", ",8000,1024,0,\n", "nodes.csv:3: column sn: is empty"},
		{"name not a node name", "Node_B,8000,1024,0,\n", "nodes.csv:3: column sn: \"Node_B\" is not a valid Kubernetes node name (lower-case letters, digits, '-' and '.', at most 253)"},
		{"quoted field", "\"b\",8000,1024,0,\n", "nodes.csv:3: contains a quote character; quoted fields are not supported"},
		{"invalid UTF-8", "b\xff,8000,1024,0,\n", "nodes.csv:3: is not valid UTF-8"},
		{"control character", "b,8000,1024,2,T4\x01\n", "nodes.csv:3: column model: \"T4\\x01\" contains control characters"},
		{"line count includes blank lines", "\n\nb,x,1024,0,\n", "nodes.csv:5: column cpu_milli: \"x\" is not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := nodeHeader + "a,8000,1024,0,\n" + tc.rows + "c,8000,1024,0,\n"
			_, _, err := readNodesString(in, ReadOptions{Malformed: RejectMalformed})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ReadNodes() error = %v\nwant %s", err, tc.want)
			}
			var rowErr *RowError
			if !errors.As(err, &rowErr) || rowErr.File != "nodes.csv" || rowErr.Line < 3 {
				t.Errorf("error %#v is not a *RowError with file and line", err)
			}

			nodes, skipped, err := readNodesString(in, ReadOptions{Malformed: SkipMalformed})
			if err != nil {
				t.Fatalf("ReadNodes(skip) error = %v", err)
			}
			if len(skipped) != 1 || skipped[0].Error() != tc.want {
				t.Errorf("ReadNodes(skip) skipped = %v, want [%s]", skipped, tc.want)
			}
			if names := nodeNames(nodes); !reflect.DeepEqual(names, []string{"a", "c"}) {
				t.Errorf("ReadNodes(skip) kept %v, want [a c]", names)
			}
		})
	}
}

func nodeNames(nodes []Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// TestReadNodesFileErrors covers what fails a read in either mode.
func TestReadNodesFileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty file", "", "nodes.csv:1: the file is empty (want a header line naming the columns)"},
		{"blank file", "\n \n", "nodes.csv:2: the file is empty (want a header line naming the columns)"},
		{"header only", nodeHeader, "nodes.csv:1: has a header but no rows"},
		{"missing column", "sn,cpu_milli,memory_mib,gpu\nn,1000,1,0\n", "nodes.csv:1: the header lacks the required column(s) model (it has \"sn,cpu_milli,memory_mib,gpu\")"},
		{"missing columns", "sn,cpus\nn,1\n", "nodes.csv:1: the header lacks the required column(s) cpu_milli, memory_mib, gpu, model (it has \"sn,cpus\")"},
		{"duplicate column", "sn,cpu_milli,memory_mib,gpu,model,GPU\nn,1000,1,0,,0\n", "nodes.csv:1: column gpu: appears twice in the header (fields 4 and 6)"},
		{"quoted header", "\"sn\",cpu_milli,memory_mib,gpu,model\n", "nodes.csv:1: contains a quote character; quoted fields are not supported"},
		{"every row malformed", nodeHeader + "n,x,1,0,\nm,y,1,0,\n", "nodes.csv: none of its rows is valid (2 malformed; the first: nodes.csv:2: column cpu_milli: \"x\" is not an integer)"},
	}
	for _, tc := range tests {
		for _, mode := range []MalformedRows{RejectMalformed, SkipMalformed} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				want := tc.want
				if tc.name == "every row malformed" && mode == RejectMalformed {
					want = "nodes.csv:2: column cpu_milli: \"x\" is not an integer"
				}
				nodes, skipped, err := readNodesString(tc.in, ReadOptions{Malformed: mode})
				if err == nil || err.Error() != want {
					t.Fatalf("ReadNodes() error = %v\nwant %s", err, want)
				}
				if nodes != nil || skipped != nil {
					t.Errorf("ReadNodes() returned %v, %v with an error", nodes, skipped)
				}
			})
		}
	}
	if _, _, err := readNodesString(nodeHeader+"n,1000,1,0,\n", ReadOptions{Malformed: 7}); err == nil {
		t.Error("ReadNodes() accepted an unknown malformed-row policy")
	}
	long := nodeHeader + strings.Repeat("x", maxLineBytes+1) + "\n"
	if _, _, err := readNodesString(long, ReadOptions{Malformed: SkipMalformed}); err == nil || !strings.Contains(err.Error(), "nodes.csv:2: a line is longer than") {
		t.Errorf("ReadNodes(over-long line) error = %v", err)
	}
}

// TestReadNodesSkipKeepsOrder checks that skip mode reports every
// malformed row in file order, with its line, and keeps the rest.
func TestReadNodesSkipKeepsOrder(t *testing.T) {
	in := nodeHeader + "a,1000,1,0,\nb,1000,1,1,\nc,1000,1,0,\nd,1000,1,1,K80\n\ne,1000,1,1,A10\na,1000,1,0,\n"
	nodes, skipped, err := readNodesString(in, ReadOptions{Malformed: SkipMalformed})
	if err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(nodes); !reflect.DeepEqual(got, []string{"a", "c", "e"}) {
		t.Errorf("kept %v, want [a c e]", got)
	}
	var lines []int
	for _, s := range skipped {
		lines = append(lines, s.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 5, 8}) {
		t.Errorf("skipped lines %v, want [3 5 8] (%v)", lines, skipped)
	}
}

func TestNodeValidate(t *testing.T) {
	good := Node{Name: "n", CPUMilli: 1000, MemoryMiB: 1, GPUs: 1, Model: "A10", Line: 4}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", good, err)
	}
	bad := good
	bad.Model = "H100"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `node "n" (line 4): column model: unknown GPU model "H100"`) {
		t.Errorf("Validate(%+v) = %v", bad, err)
	}
}
