// Package tracereport writes the report of a trace replay
// (bench/replay): a Markdown page with the comparison tables, the
// published figures beside them and a reading generated from the
// numbers, and PNG plots of allocation, power, fragmentation and latency.
package tracereport

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hadron-sched/hadron/bench/replay"
)

// ReportFile is the Markdown report's name in the output directory.
const ReportFile = "report.md"

// Input is what a report is written from.
type Input struct {
	Result *replay.Result
	// Malformed lists the trace rows left out as malformed, each as
	// "file:line: why".
	Malformed []string
	// Policies, when given, describe the compared policies in the report.
	Policies []replay.Policy
}

// Files are the paths Write produced.
type Files struct {
	Report string
	Plots  []string
}

// Write writes the report and its plots into dir, creating it.
func Write(dir string, in Input) (Files, error) {
	if in.Result == nil {
		return Files{}, errors.New("tracereport: no result to report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("create report directory: %w", err)
	}
	plots, err := WritePlots(dir, in.Result)
	if err != nil {
		return Files{}, err
	}
	var buf bytes.Buffer
	Markdown(&buf, in, plots)
	files := Files{Report: filepath.Join(dir, ReportFile)}
	if err := os.WriteFile(files.Report, buf.Bytes(), 0o644); err != nil {
		return Files{}, fmt.Errorf("write report: %w", err)
	}
	for _, p := range plots {
		files.Plots = append(files.Plots, filepath.Join(dir, p))
	}
	return files, nil
}
