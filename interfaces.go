package rejoin

import (
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// EvalQueue takes evaluations out of the server, for an embedder whose own
// broker decides when each runs (see WithEvalQueue). Enqueue is called
// from one goroutine, outside the server's locks, with copies the queue
// may keep; each pending evaluation is handed over once per Start.
type EvalQueue interface {
	Enqueue(evals ...*structs.Evaluation)
}

// Reader is read access to the state. *state.Store (the live state) and
// *state.Snapshot (one consistent view) satisfy it. Objects it returns are
// shared with the store: never modify them (Copy first). Reads never block
// writers and are safe from any goroutine.
type Reader interface {
	LatestIndex() uint64
	Index(table string) uint64
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	Nodes(ws memdb.WatchSet) ([]*structs.Node, error)
	AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error)
	AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error)
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Allocation, error)
	JobByID(ws memdb.WatchSet, namespace, jobID string) (*structs.Job, error)
	Jobs(ws memdb.WatchSet) ([]*structs.Job, error)
	EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error)
	EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error)
	Evals(ws memdb.WatchSet) ([]*structs.Evaluation, error)
}

var (
	_ Reader = (*state.Store)(nil)
	_ Reader = (*state.Snapshot)(nil)
)
