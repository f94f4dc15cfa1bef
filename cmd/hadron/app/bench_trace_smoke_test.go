package app

import (
	"bufio"
	"image"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/klog/v2/ktesting"

	"github.com/hadron-sched/hadron/bench/replay"
	"github.com/hadron-sched/hadron/bench/tracereport"
	"github.com/hadron-sched/hadron/pkg/localcluster"
)

// TestBenchTraceQuick runs `hadron bench trace --quick` end to end on the
// committed trace excerpt with the default and hadron policies, checks
// the report and its plots, then replays hadron again with the same seed:
// it must place every pod exactly as before.
func TestBenchTraceQuick(t *testing.T) {
	if v := os.Getenv("HADRON_SKIP_INTEGRATION"); v != "" {
		t.Skipf("HADRON_SKIP_INTEGRATION=%s", v)
	}
	binDir := localcluster.DefaultBinDir()
	for _, bin := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "hadron-scheduler"} {
		if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
			t.Fatalf("control-plane binary %s missing in %q (run `make build` or set HADRON_BIN_DIR): %v", bin, binDir, err)
		}
	}
	out := t.TempDir()
	common := []string{"--quick", "--seed", "11", "--bin-dir", binDir}
	first := runBenchTrace(t, append(common, "--policies", "default,hadron", "--out", out)...)

	checkReport(t, out, first)
	for _, pr := range first.Policies {
		if pr.QuotaOvershoot != 0 {
			t.Errorf("%s: quota overshoot %v %s, want 0", pr.Policy, pr.QuotaOvershoot, pr.QuotaOvershootResource)
		}
		if len(pr.Samples) == 0 || pr.Scheduled == 0 || len(pr.Placements) != pr.Scheduled+pr.Failed {
			t.Errorf("%s: %d samples, %d scheduled, %d failed, %d placements: want samples, placed pods and one placement per arrival",
				pr.Policy, len(pr.Samples), pr.Scheduled, pr.Failed, len(pr.Placements))
		}
	}

	again := runBenchTrace(t, append(common, "--policies", "hadron", "--out", t.TempDir())...)
	want, got := placements(t, first, "hadron"), placements(t, again, "hadron")
	if !maps.Equal(want, got) {
		differ := 0
		for id, p := range want {
			if got[id] != p {
				if differ < 5 {
					t.Errorf("pod %s: placed on %q, then on %q", id, p, got[id])
				}
				differ++
			}
		}
		t.Errorf("same seed, different placements: %d of %d pods differ (%d placements the second time)", differ, len(want), len(got))
	}
}

func runBenchTrace(t *testing.T, args ...string) *replay.Result {
	t.Helper()
	o, cmd, stdout, stderr := benchTraceCommand(t, args...)
	_, ctx := ktesting.NewTestContext(t)
	cmd.SetContext(ctx)
	res, err := o.run(cmd)
	t.Logf("hadron bench trace %s:\n%s", strings.Join(args, " "), stderr)
	if err != nil {
		t.Fatalf("bench trace %v: %v", args, err)
	}
	if want := "report: " + filepath.Join(o.out, tracereport.ReportFile); !strings.Contains(stdout.String(), want) {
		t.Errorf("output %q does not say %q", stdout, want)
	}
	return res
}

func placements(t *testing.T, res *replay.Result, policy string) map[string]string {
	t.Helper()
	for _, pr := range res.Policies {
		if pr.Policy == policy {
			return pr.Placements
		}
	}
	t.Fatalf("no %s policy in the result", policy)
	return nil
}

// checkReport reads the report's tables back and decodes its plots.
func checkReport(t *testing.T, dir string, res *replay.Result) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, tracereport.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	report := string(md)
	for _, want := range []string{"Seed: 11", "Mode: demand", "openb_pod_list_default_excerpt.csv", "## Reading", "## Synthesis notes"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	tables := tableRows(report)
	percentCell := regexp.MustCompile(`^\d+\.\d%$`)
	for _, pr := range res.Policies {
		alloc := tables["## GPU allocation"][pr.Policy]
		// policy, 50, 90, 100, 130 %, unallocated, fragmented: the quick
		// run goes up to 130 % arrived demand, so every level is reached.
		if len(alloc) != 7 {
			t.Errorf("allocation row of %s: %q, want 7 cells", pr.Policy, alloc)
			continue
		}
		for _, cell := range alloc[1:5] {
			if !percentCell.MatchString(cell) {
				t.Errorf("allocation row of %s: cell %q is not a percentage", pr.Policy, cell)
			}
		}
		placement := tables["## Placement"][pr.Policy]
		if len(placement) != 6 || placement[5] != "0.000" {
			t.Errorf("placement row of %s: %q, want quota overshoot 0.000 last", pr.Policy, placement)
		}
		if speed := tables["## Speed"][pr.Policy]; len(speed) != 8 {
			t.Errorf("speed row of %s: %q, want 8 cells", pr.Policy, speed)
		}
	}
	for _, name := range []string{tracereport.AllocationPlot, tracereport.PowerPlot, tracereport.FragmentationPlot, tracereport.LatencyPlot} {
		if !strings.Contains(report, "]("+name+")") {
			t.Errorf("report does not show %s", name)
		}
		checkPlot(t, filepath.Join(dir, name))
	}
}

// tableRows returns, per section heading, the table rows by their first
// cell.
func tableRows(md string) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			out[section] = map[string][]string{}
			continue
		}
		if !strings.HasPrefix(line, "| ") || section == "" {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		out[section][cells[0]] = cells
	}
	return out
}

// checkPlot decodes a PNG and looks for the coloured pixels of data
// lines: axes, grid and text are grey.
func checkPlot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer func() { _ = f.Close() }()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("%s is %dx%d, want a readable figure", path, b.Dx(), b.Dy())
	}
	if n := colouredPixels(img); n < 100 {
		t.Errorf("%s has %d coloured pixels: no data lines drawn", path, n)
	}
}

func colouredPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > 0x4000 {
				n++
			}
		}
	}
	return n
}
