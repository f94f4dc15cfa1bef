package driverbench

import (
	"os"
	"testing"
)

func TestParseMemory(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    Memory
		wantErr bool
	}{
		{
			name:   "status of a process",
			status: "Name:\thadron-kubelet-plugin\nVmPeak:\t 1300000 kB\nVmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n",
			want:   Memory{RSS: 40960 * 1024, HWM: 61440 * 1024},
		},
		{name: "no VmRSS (kernel thread)", status: "Name:\tkthreadd\nVmHWM:\t0 kB\n", wantErr: true},
		{name: "not kB", status: "VmRSS:\t40 MB\nVmHWM:\t41 kB\n", wantErr: true},
		{name: "not a number", status: "VmRSS:\tlots kB\nVmHWM:\t41 kB\n", wantErr: true},
		{name: "negative", status: "VmRSS:\t-4 kB\nVmHWM:\t41 kB\n", wantErr: true},
		{name: "empty", status: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMemory([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseMemory error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseMemory = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFieldsFirstWins(t *testing.T) {
	got := parseFields([]byte("processor\t: 0\nmodel name\t: CPU A\n\nprocessor\t: 1\nmodel name\t: CPU B\nno colon here\n: empty key\n"))
	if got["model name"] != "CPU A" || got["processor"] != "0" || len(got) != 2 {
		t.Errorf("parseFields = %v", got)
	}
}

// TestReadOwnMemory reads this test process's own status file.
func TestReadOwnMemory(t *testing.T) {
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("memory of this process = %+v, want 0 < RSS <= HWM", m)
	}
}

func FuzzParseMemory(f *testing.F) {
	f.Add([]byte("VmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\n"))
	f.Add([]byte("VmRSS: 9223372036854775807 kB\nVmHWM: 1 kB"))
	f.Add([]byte("VmRSS:\x00kB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMemory(data)
		if err == nil && (m.RSS < 0 || m.HWM < 0) {
			t.Fatalf("negative memory %+v from %q", m, data)
		}
	})
}
