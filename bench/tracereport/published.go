package tracereport

// Published figures on the openb traces, quoted as their sources give
// them, for comparison and never for tuning.

// fgdPaper is the Fragmentation Gradient Descent paper (Weng, Yang et
// al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with
// Fragmentation Gradient Descent", USENIX ATC'23): GPU allocation ratio
// at 100 % arrived GPU demand on the default trace.
var fgdPaper = []struct {
	Scheduler  string
	Allocation float64
}{
	{"Random", 0.863},
	{"BestFit", 0.929},
	{"FGD", 0.952},
}

// fgdPaperFGD is the FGD paper's own figure, the one hadron is measured
// against.
const fgdPaperFGD = 0.952

// pwrFGDSaving is the range of modelled power saved by PWR+FGD over FGD
// on the default trace (CCGrid'25), as shares of FGD's power.
var pwrFGDSaving = [2]float64{0.13, 0.16}

// defaultReference is the default kube-scheduler profile (NodeResourcesFit
// LeastAllocated, DRA first-fit) replayed on the default trace with the
// 1,213 GPU nodes, one pod at a time, no departures, as measured with
// the real kube-apiserver and kube-scheduler v1.37.2 (traces README).
var defaultReference = struct {
	Demand     []float64
	Allocation []float64
	Failed     int
	Nodes      int
	GPUs       int
	PodList    string
	Mode       string
}{
	Demand:     []float64{0.5, 0.9, 1.0},
	Allocation: []float64{0.483, 0.868, 0.925},
	Failed:     227,
	Nodes:      1213,
	GPUs:       6212,
	PodList:    "openb_pod_list_default.csv",
	Mode:       "demand",
}

// referenceTolerance is how far, in allocation ratio, the default
// profile may land from the measured reference before the report warns
// that the benchmark measures something else.
const referenceTolerance = 0.02
