package trace

import (
	"reflect"
	"strings"
	"testing"
)

const (
	podHeader      = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
	shortPodHeader = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
)

func readPodsString(s string, opts ReadOptions) ([]Pod, []*RowError, error) {
	return ReadPods(strings.NewReader(s), "pods.csv", opts)
}

func TestReadPods(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Pod
	}{
		{
			name: "trace rows",
			in: podHeader +
				"openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n" +
				"openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427061\n" +
				"openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,\n" +
				"openb-pod-0100,8000,30517,0,0,,BE,Failed,5,5,5\n" +
				"openb-pod-0200,64000,262144,8,1000,V100M16|V100M32|V100M32,LS,Running,7,9,8\n",
			want: []Pod{
				{Name: "openb-pod-0000", CPUMilli: 12000, MemoryMiB: 16384, NumGPU: 1, GPUMilli: 1000, QoS: "LS", Phase: "Running",
					CreationTime: 0, DeletionTime: 12537496, HasTimes: true, ScheduledTime: 0, Scheduled: true, Line: 2},
				{Name: "openb-pod-0001", CPUMilli: 6000, MemoryMiB: 12288, NumGPU: 1, GPUMilli: 460, QoS: "LS", Phase: "Running",
					CreationTime: 427061, DeletionTime: 12902960, HasTimes: true, ScheduledTime: 427061, Scheduled: true, Line: 3},
				{Name: "openb-pod-0061", CPUMilli: 11908, MemoryMiB: 47104, NumGPU: 1, GPUMilli: 1000, QoS: "BE", Phase: "Pending",
					CreationTime: 10001278, DeletionTime: 10001403, HasTimes: true, Line: 4},
				{Name: "openb-pod-0100", CPUMilli: 8000, MemoryMiB: 30517, QoS: "BE", Phase: "Failed",
					CreationTime: 5, DeletionTime: 5, HasTimes: true, ScheduledTime: 5, Scheduled: true, Line: 5},
				{Name: "openb-pod-0200", CPUMilli: 64000, MemoryMiB: 262144, NumGPU: 8, GPUMilli: 1000, GPUSpec: []string{"V100M16", "V100M32"},
					QoS: "LS", Phase: "Running", CreationTime: 7, DeletionTime: 9, HasTimes: true, ScheduledTime: 8, Scheduled: true, Line: 6},
			},
		},
		{
			name: "five-column variant",
			in:   shortPodHeader + "openb-pod-0000,12000,16384,1,1000\nopenb-pod-0001,6000,12288,1,460\n",
			want: []Pod{
				{Name: "openb-pod-0000", CPUMilli: 12000, MemoryMiB: 16384, NumGPU: 1, GPUMilli: 1000, Line: 2},
				{Name: "openb-pod-0001", CPUMilli: 6000, MemoryMiB: 12288, NumGPU: 1, GPUMilli: 460, Line: 3},
			},
		},
		{
			name: "other order, extra column, times without scheduled_time",
			in:   "deletion_time,gpu_milli,num_gpu,note,memory_mib,cpu_milli,name,creation_time\n20,250,1,hello,1024,500,p,10\n",
			want: []Pod{
				{Name: "p", CPUMilli: 500, MemoryMiB: 1024, NumGPU: 1, GPUMilli: 250, CreationTime: 10, DeletionTime: 20, HasTimes: true, Line: 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := readPodsString(tc.in, ReadOptions{})
			if err != nil || skipped != nil {
				t.Fatalf("ReadPods() = _, %v, %v", skipped, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ReadPods() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestReadPodsRejects has one case per kind of malformed pod row.
func TestReadPodsRejects(t *testing.T) {
	tests := []struct {
		name string
		row  string // line 3, after one good row
		want string
	}{
		{"non-integer cpu", "b,1.5,1,0,0,,BE,Running,1,2,1", `pods.csv:3: column cpu_milli: "1.5" is not an integer`},
		{"negative memory", "b,1000,-5,0,0,,BE,Running,1,2,1", `pods.csv:3: column memory_mib: -5 is negative`},
		{"negative num_gpu", "b,1000,1,-1,0,,BE,Running,1,2,1", `pods.csv:3: column num_gpu: -1 is negative`},
		{"num_gpu above any node", "b,1000,1,65,1000,,BE,Running,1,2,1", `pods.csv:3: column num_gpu: 65 is out of range [0, 64]`},
		{"gpu_milli zero on a GPU pod", "b,1000,1,1,0,,BE,Running,1,2,1", `pods.csv:3: column gpu_milli: 0 is out of range [1, 1000] for a one-GPU pod`},
		{"gpu_milli above 1000", "b,1000,1,1,1001,,BE,Running,1,2,1", `pods.csv:3: column gpu_milli: 1001 is out of range [0, 1000]`},
		{"share on a multi-GPU pod", "b,1000,1,2,500,,BE,Running,1,2,1", `pods.csv:3: column gpu_milli: 500 is not 1000 although num_gpu is 2 (multi-GPU pods take whole GPUs)`},
		{"gpu_milli without GPUs", "b,1000,1,0,300,,BE,Running,1,2,1", `pods.csv:3: column gpu_milli: 300 is given although num_gpu is 0 (want 0)`},
		{"gpu_spec without GPUs", "b,1000,1,0,0,T4,BE,Running,1,2,1", `pods.csv:3: column gpu_spec: "T4" is given although the pod needs no GPU`},
		{"unknown gpu_spec model", "b,1000,1,1,1000,T4|K80,BE,Running,1,2,1", `pods.csv:3: column gpu_spec: unknown GPU model "K80" (known: A10, G2, G3, P100, T4, V100M16, V100M32)`},
		{"empty gpu_spec element", "b,1000,1,1,1000,T4||A10,BE,Running,1,2,1", `pods.csv:3: column gpu_spec: "T4||A10" has an empty model name`},
		{"deletion before creation", "b,1000,1,0,0,,BE,Running,10,9,10", `pods.csv:3: column deletion_time: 9 is before creation_time 10`},
		{"scheduled before creation", "b,1000,1,0,0,,BE,Running,10,20,9", `pods.csv:3: column scheduled_time: 9 is outside [creation_time 10, deletion_time 20]`},
		{"scheduled after deletion", "b,1000,1,0,0,,BE,Running,10,20,21", `pods.csv:3: column scheduled_time: 21 is outside [creation_time 10, deletion_time 20]`},
		{"empty creation time", "b,1000,1,0,0,,BE,Running,,20,", `pods.csv:3: column creation_time: is empty (want a non-negative integer)`},
		{"empty deletion time", "b,1000,1,0,0,,BE,Running,1,,", `pods.csv:3: column deletion_time: is empty (want a non-negative integer)`},
		{"time out of range", "b,1000,1,0,0,,BE,Running,1,9007199254740993,", `pods.csv:3: column deletion_time: 9007199254740993 is out of range [0, 9007199254740992]`},
		{"duplicate name", "a,1000,1,0,0,,BE,Running,1,2,1", `pods.csv:3: column name: "a" duplicates the pod of line 2`},
		{"too few fields", "b,1000,1,0,0", `pods.csv:3: has 5 fields, the header has 11`},
		{"too many fields", "b,1000,1,0,0,,BE,Running,1,2,1,", `pods.csv:3: has 12 fields, the header has 11`},
		{"empty name", ",1000,1,0,0,,BE,Running,1,2,1", `pods.csv:3: column name: is empty`},
		{"space in name", "b c,1000,1,0,0,,BE,Running,1,2,1", `pods.csv:3: column name: "b c" is not a pod name (printable, no spaces, at most 253 bytes)`},
		{"padded qos", "b,1000,1,0,0,, BE,Running,1,2,1", `pods.csv:3: column qos: " BE" has leading or trailing spaces`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := podHeader + "a,1000,1,0,0,,BE,Running,1,2,1\n" + tc.row + "\nc,1000,1,0,0,,BE,Running,1,2,1\n"
			if _, _, err := readPodsString(in, ReadOptions{}); err == nil || err.Error() != tc.want {
				t.Fatalf("ReadPods() error = %v\nwant %s", err, tc.want)
			}
			pods, skipped, err := readPodsString(in, ReadOptions{Malformed: SkipMalformed})
			if err != nil {
				t.Fatalf("ReadPods(skip) error = %v", err)
			}
			if len(skipped) != 1 || skipped[0].Error() != tc.want {
				t.Errorf("ReadPods(skip) skipped = %v, want [%s]", skipped, tc.want)
			}
			if len(pods) != 2 || pods[0].Name != "a" || pods[1].Name != "c" {
				t.Errorf("ReadPods(skip) kept %+v, want a and c", pods)
			}
		})
	}
}

func TestReadPodsHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty file", "", "pods.csv:1: the file is empty (want a header line naming the columns)"},
		{"header only", podHeader, "pods.csv:1: has a header but no rows"},
		{"missing gpu_milli", "name,cpu_milli,memory_mib,num_gpu\np,1,1,0\n", `pods.csv:1: the header lacks the required column(s) gpu_milli (it has "name,cpu_milli,memory_mib,num_gpu")`},
		{"only creation_time", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\np,1,1,0,0,5\n", "pods.csv:1: the header names only one of creation_time and deletion_time (want both or neither)"},
		{"scheduled_time without times", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,scheduled_time\np,1,1,0,0,5\n", "pods.csv:1: the header names scheduled_time without creation_time and deletion_time"},
		{"duplicate column", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,name\np,1,1,0,0,q\n", "pods.csv:1: column name: appears twice in the header (fields 1 and 6)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := readPodsString(tc.in, ReadOptions{Malformed: SkipMalformed}); err == nil || err.Error() != tc.want {
				t.Fatalf("ReadPods() error = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestPodDemand(t *testing.T) {
	tests := []struct {
		pod   Pod
		milli int64
		gpus  float64
	}{
		{Pod{}, 0, 0},
		{Pod{NumGPU: 1, GPUMilli: 460}, 460, 0.46},
		{Pod{NumGPU: 1, GPUMilli: 1000}, 1000, 1},
		{Pod{NumGPU: 4, GPUMilli: 1000}, 4000, 4},
	}
	for _, tc := range tests {
		if got := tc.pod.GPUMilliDemand(); got != tc.milli {
			t.Errorf("%+v.GPUMilliDemand() = %d, want %d", tc.pod, got, tc.milli)
		}
		if got := tc.pod.GPUDemand(); got != tc.gpus {
			t.Errorf("%+v.GPUDemand() = %v, want %v", tc.pod, got, tc.gpus)
		}
	}
}
