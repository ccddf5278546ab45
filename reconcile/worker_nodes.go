package reconcile

import (
	"sync"

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
		c.fill(nodes)
		return c.byID[id], nil
	}
	n, err := snap.NodeByID(nil, id)
	if err != nil {
		return nil, err
	}
	c.byID[id] = n
	return n, nil
}

// fill makes the cache hold every node of the table: nodes.
func (c *nodeCache) fill(nodes []*structs.Node) {
	for _, n := range nodes {
		c.byID[n.ID] = n
	}
	c.full = true
}

// nodeView is how preparing a job reads nodes: one at a time, or all of
// them (system jobs).
type nodeView struct {
	byID func(id string) (*structs.Node, error)
	all  func() ([]*structs.Node, error)
}

// memoNodes reads snap's nodes through the worker's caches, filling them.
// The caller holds procMu, and uses the view on its own goroutine.
func (w *Worker) memoNodes(snap *state.Snapshot) nodeView {
	w.nodeMemo.reset(snap.Index(state.TableNodes))
	return nodeView{
		byID: func(id string) (*structs.Node, error) { return w.nodeByID(snap, id) },
		all:  func() ([]*structs.Node, error) { return w.allNodes(snap) },
	}
}

// sharedNodes is a view of snap's nodes that many goroutines may read at
// once: it never writes the worker's caches. With fill, or when the memo
// already holds the whole table at snap's nodes index, reads come from the
// memo; otherwise each is a store read. The caller holds procMu.
func (w *Worker) sharedNodes(snap *state.Snapshot, fill bool) (nodeView, error) {
	c := &w.nodeMemo
	c.reset(snap.Index(state.TableNodes))
	if fill && !c.full {
		nodes, err := w.allNodes(snap)
		if err != nil {
			return nodeView{}, err
		}
		c.fill(nodes)
	}
	if c.full {
		nodes, err := w.allNodes(snap) // the cached list, at the memo's index
		if err != nil {
			return nodeView{}, err
		}
		byID := c.byID // not written until the batch is prepared
		return nodeView{
			byID: func(id string) (*structs.Node, error) { return byID[id], nil },
			all:  func() ([]*structs.Node, error) { return nodes, nil },
		}, nil
	}
	return storeNodes(snap), nil
}

// storeNodes reads snap's nodes from the store itself, touching no cache.
func storeNodes(snap *state.Snapshot) nodeView {
	return nodeView{
		byID: func(id string) (*structs.Node, error) { return snap.NodeByID(nil, id) },
		all:  sync.OnceValues(func() ([]*structs.Node, error) { return snap.Nodes(nil) }),
	}
}
