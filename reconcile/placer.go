package reconcile

import (
	"github.com/rejoinhq/rejoin/structs"
)

// Placer picks a node for each placement. Embedders replace DefaultPlacer
// with their own bin-packing; Apply only needs a node and a score.
type Placer interface {
	// SelectNode returns the node for p, or "" when none fits. nodes are
	// sorted by ID and shared (read-only); liveByNode counts the job's live
	// allocations per node, including placements already made by the same
	// Apply; exclude is the node of the allocation being replaced ("" for
	// a fresh slot). score is recorded as the new alloc's
	// Metrics.ScoreMetaData NormScore, so the best_score reconnect strategy
	// has data to compare.
	SelectNode(p Placement, job *structs.Job, nodes []*structs.Node, liveByNode map[string]int, exclude string) (nodeID string, score float64)
}

// DefaultPlacer spreads a job thinly: among ready, eligible, non-draining
// nodes other than exclude, it picks the one with the fewest live allocs of
// the job, ties broken by the lowest node ID. Its score is 1/(1+live), in
// (0,1]: an empty node scores 1, so a replacement only outscores an original
// that shared its node with more of the job's allocations.
type DefaultPlacer struct{}

var _ Placer = DefaultPlacer{}

// SelectNode implements Placer. It is deterministic and allocation-free.
// nodes must be sorted by ID (Apply guarantees it): the first node with the
// fewest live allocs wins, and the scan stops at the first empty one.
func (DefaultPlacer) SelectNode(_ Placement, _ *structs.Job, nodes []*structs.Node, liveByNode map[string]int, exclude string) (string, float64) {
	best, bestLive := "", 0
	for _, n := range nodes {
		if n == nil || n.ID == exclude || !n.Eligible() {
			continue
		}
		live := liveByNode[n.ID]
		if best == "" || live < bestLive {
			best, bestLive = n.ID, live
			if live == 0 {
				break
			}
		}
	}
	if best == "" {
		return "", 0
	}
	return best, defaultScore(bestLive)
}

// defaultScore maps a node's live-alloc count to a NormScore in (0,1].
func defaultScore(live int) float64 { return 1 / float64(1+live) }
