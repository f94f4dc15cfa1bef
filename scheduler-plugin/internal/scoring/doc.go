// Package scoring holds what hadron's score plugins share: the pod's
// demand and the model snapshot, computed once per scheduling cycle; the
// per-node placement estimate; signing; and score normalisation.
package scoring
