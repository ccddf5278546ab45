package reconcile

import (
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// nodeMemoFill is how many single-node reads at one nodes-table index make
// the worker read every node at once instead: in a reconnect storm each of
// hundreds of jobs per pass reads its own nodes, and one ordered scan of
// the table costs less than a few thousand point lookups.
const nodeMemoFill = 512

// nodeCache remembers the nodes the worker read at one nodes-table index.
// Nodes are shared with the store and never changed in place, so any
// snapshot with the same nodes-table index holds exactly these. It is the
// worker's: the caller holds procMu.
type nodeCache struct {
	at     uint64
	valid  bool
	full   bool // byID holds every node of the table (absent = no such node)
	misses int
	byID   map[string]*structs.Node // nil value: the node does not exist
}

// reset forgets everything unless the nodes table is still at index at.
func (c *nodeCache) reset(at uint64) {
	if c.valid && c.at == at {
		return
	}
	if c.byID == nil {
		c.byID = make(map[string]*structs.Node)
	}
	clear(c.byID)
	c.at, c.valid, c.full, c.misses = at, true, false, 0
}

// nodeByID returns the node from the cache, filling it from snap (whose
// nodes-table index the cache was reset to).
func (w *Worker) nodeByID(snap *state.Snapshot, id string) (*structs.Node, error) {
	c := &w.nodeMemo
	if n, ok := c.byID[id]; ok || c.full {
		return n, nil
	}
	c.misses++
	if c.misses > nodeMemoFill {
		nodes, err := w.allNodes(snap)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			c.byID[n.ID] = n
		}
		c.full = true
		return c.byID[id], nil
	}
	n, err := snap.NodeByID(nil, id)
	if err != nil {
		return nil, err
	}
	c.byID[id] = n
	return n, nil
}
