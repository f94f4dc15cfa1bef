package topology

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/utils/cpuset"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in   string
		want []int // nil: an error
	}{
		{"", []int{}},
		{"\n", []int{}},
		{"0", []int{0}},
		{"0-3\n", []int{0, 1, 2, 3}},
		{"0-1,4,6-7", []int{0, 1, 4, 6, 7}},
		{"0,2,4,6,8,10", []int{0, 2, 4, 6, 8, 10}},
		{"65535", []int{65535}},
		{"65536", nil},
		{"0-2147483647", nil},
		{"3-1", nil},
		{"4,2", nil},   // not ascending
		{"0-3,2", nil}, // overlapping
		{"0,,1", nil},
		{"-1", nil},
		{"+1", nil},
		{"1-", nil},
		{"0x1", nil},
		{"ff,ffffffff", nil}, // a mask, not a list
		{"0 - 3", nil},
	}
	for _, tc := range tests {
		got, err := parseCPUList(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseCPUList(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equals(cpuset.New(tc.want...)) {
			t.Errorf("parseCPUList(%q) = %s, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want uint64
		ok   bool
	}{
		{"0x10de", 16, 0x10de, true},
		{"0x030200", 24, 0x030200, true},
		{"10DE", 16, 0x10de, true},
		{"0x10000", 16, 0, false},
		{"0x", 16, 0, false},
		{"0x-1", 16, 0, false},
		{"nvidia", 16, 0, false},
	}
	for _, tc := range tests {
		got, err := parseHex(tc.in, tc.bits)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseHex(%q, %d) = %#x, %v; want %#x, ok %v", tc.in, tc.bits, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"MemTotal:       32780412 kB\nMemFree:        1 kB\n", 32780412 << 10, true},
		{"Node 0 MemTotal:       32780412 kB\nNode 0 MemFree:  1 kB\n", 32780412 << 10, true},
		{"Node 3 MemFree:  1 kB\nNode 3 MemTotal:  0 kB\n", 0, true},
		{"MemFree: 1 kB\n", 0, false},
		{"MemTotal: 12 MB\n", 0, false},
		{"MemTotal: -1 kB\n", 0, false},
		{"MemTotal: 9223372036854775807 kB\n", 0, false},
		{"MemTotal:\n", 0, false},
	}
	for _, tc := range tests {
		got, err := parseMemTotal(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseDistances(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"10 21\n", []int{10, 21}},
		{"10  12 12 12 32 32 32 32", []int{10, 12, 12, 12, 32, 32, 32, 32}},
		{"", nil},
		{"10 x", nil},
		{"10 256", nil},
		{"10 -1", nil},
	}
	for _, tc := range tests {
		got, err := parseDistances(tc.in)
		if (err == nil) != (tc.want != nil) || !slices.Equal(got, tc.want) {
			t.Errorf("parseDistances(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"400 Gb/sec (4X NDR)", 400, true},
		{"200 Gb/sec (2X NDR)\n", 200, true},
		{"2.5 Gb/sec (1X SDR)", 2, true},
		{"56 Gb/sec (4X FDR)", 56, true},
		{"100 Gb/sec", 100, true},
		{"0 Gb/sec", 0, true},
		{"400 Mb/sec", 0, false},
		{"fast", 0, false},
		{"NaN Gb/sec", 0, false},
		{"Inf Gb/sec", 0, false},
		{"-10 Gb/sec", 0, false},
		{"1e300 Gb/sec", 0, false},
	}
	for _, tc := range tests {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSpeed(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"400000", 400000, true},
		{"-1", 0, true},
		{"4294967295", 0, true},
		{"-2", 0, false},
		{"10G", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSpeed(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSpeed(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseModelName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480C\n\nprocessor\t: 1\n",
			"Intel(R) Xeon(R) Platinum 8480C"},
		// Arm: no model name in the first block, so none is looked for
		// further down.
		{"processor\t: 0\nBogoMIPS\t: 50.00\n\nmodel name\t: elsewhere\n", ""},
		{"\n\nmodel name: first\n", "first"},
		{"", ""},
		{"model name", ""},
	}
	for _, tc := range tests {
		got, err := parseModelName(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("parseModelName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// The fuzz targets feed every sysfs text parser arbitrary input: none may
// panic or run away, and what they accept must be well formed.

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"", "0", "0-3,8,10-11", "0-65535", "1,3,5\n", "3-1", "0-2147483647", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseCPUList(s)
		if err != nil {
			return
		}
		for _, id := range set.List() {
			if id < 0 || id > maxCPUID {
				t.Fatalf("parseCPUList(%q) accepted CPU %d", s, id)
			}
		}
		// The kernel's format round-trips through cpuset's.
		again, err := parseCPUList(set.String())
		if err != nil || !again.Equals(set) {
			t.Fatalf("parseCPUList(%q) = %s, which parses back as %s, %v", s, set, again, err)
		}
	})
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0x10de", "0x030200", "", "0x", "zz"} {
		f.Add(s, 16)
	}
	f.Fuzz(func(t *testing.T, s string, bits int) {
		bits = 1 + (bits&0x7fffffff)%64
		v, err := parseHex(s, bits)
		if err == nil && bits < 64 && v>>bits != 0 {
			t.Fatalf("parseHex(%q, %d) = %#x, wider than %d bits", s, bits, v, bits)
		}
	})
}

func FuzzParseMemTotal(f *testing.F) {
	for _, s := range []string{"MemTotal: 1 kB\n", "Node 0 MemTotal:       32780412 kB\n", "MemTotal:", "MemTotal: 1 kB extra"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := parseMemTotal(s); err == nil && (b < 0 || b%1024 != 0) {
			t.Fatalf("parseMemTotal(%q) = %d", s, b)
		}
	})
}

func FuzzParseDistances(f *testing.F) {
	for _, s := range []string{"10 21", "10", "", "10 x", "300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		row, err := parseDistances(s)
		if err != nil {
			return
		}
		if len(row) == 0 {
			t.Fatalf("parseDistances(%q) accepted an empty row", s)
		}
		for _, d := range row {
			if d < 0 || d > 255 {
				t.Fatalf("parseDistances(%q) accepted %d", s, d)
			}
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"400 Gb/sec (4X NDR)", "2.5 Gb/sec (1X SDR)", "NaN Gb/sec", "1e400 Gb/sec", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if g, err := parseRate(s); err == nil && (g < 0 || g > 1e9) {
			t.Fatalf("parseRate(%q) = %d", s, g)
		}
	})
}

func FuzzParseSpeed(f *testing.F) {
	for _, s := range []string{"400000", "-1", "4294967295", "", "-9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := parseSpeed(s); err == nil && v < 0 {
			t.Fatalf("parseSpeed(%q) = %d", s, v)
		}
	})
}

func FuzzParseModelName(f *testing.F) {
	for _, s := range []string{"processor\t: 0\nmodel name\t: X\n\n", "\n\nmodel name: y", strings.Repeat("a", 70000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		model, err := parseModelName(strings.NewReader(s))
		if err == nil && (strings.ContainsAny(model, "\n") || len(model) > len(s)) {
			t.Fatalf("parseModelName(%q) = %q", s, model)
		}
	})
}

// FuzzQuote checks that warnings quote file content safely and briefly.
func FuzzQuote(f *testing.F) {
	f.Add("garbage\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		q := quote(s)
		if len(q) > 4*40+5 || !utf8.ValidString(q) || strings.ContainsAny(q, "\n\x00") {
			t.Fatalf("quote(%q) = %q", s, q)
		}
		if _, err := strconv.Unquote(strings.TrimSuffix(q, "...")); err != nil {
			t.Fatalf("quote(%q) = %q, not a Go string: %v", s, q, err)
		}
	})
}
