package simhw

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// digest derives the bytes behind one GPU's identifiers. Hashing the seed
// (a node name) with the GPU index makes identifiers stable across runs and
// processes, distinct between simulated nodes, and distinct within a node,
// which is what tests comparing ResourceSlices across restarts need. The
// purpose keeps the UUID and the serial independent of each other.
func digest(purpose, seed string, index int) [sha256.Size]byte {
	return sha256.Sum256([]byte(fmt.Sprintf("hadron-simhw\x00%s\x00%s\x00%d", purpose, seed, index)))
}

// gpuUUID returns the NVML UUID of GPU index for seed, "GPU-" followed by an
// RFC 9562 version 8 (custom, here hash-derived) UUID, so that it can never
// be mistaken for a random or a real board's UUID.
func gpuUUID(seed string, index int) string {
	h := digest("uuid", seed, index)
	return "GPU-" + formatUUID(h[:16])
}

// migUUID returns the UUID of the MIG device of GPU instance gi, compute
// instance ci on the GPU parentUUID: "MIG-" and a version 8 UUID, as NVML
// formats MIG UUIDs since R470. It depends only on the parent and the
// instance IDs, so recreating the same instances on the same simulated node
// gives back the same MIG UUIDs.
func migUUID(parentUUID string, gi, ci uint32) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("hadron-simhw\x00mig-uuid\x00%s\x00%d\x00%d", parentUUID, gi, ci)))
	return "MIG-" + formatUUID(h[:16])
}

// formatUUID formats 16 hash bytes as an RFC 9562 version 8 UUID.
func formatUUID(b []byte) string {
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// gpuSerial returns a 13-digit board serial, the length NVIDIA uses.
func gpuSerial(seed string, index int) string {
	h := digest("serial", seed, index)
	return fmt.Sprintf("%013d", binary.BigEndian.Uint64(h[:8])%10_000_000_000_000)
}
