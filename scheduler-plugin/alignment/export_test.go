package alignment

// Test fixtures shared with the external test package, which runs the
// whole scheduler with hadron's full registry (importing that registry from
// this package's own tests would be an import cycle).
var (
	NodeSlices = nodeSlices
	Claim      = claim
	Reqs       = reqs
	Request    = request
	Match      = match
)

const (
	GPUClass = gpuClass
	NICClass = nicClass
)
