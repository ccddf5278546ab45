package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// The Store's reads each run on a fresh read transaction over the current
// state; Snapshot has the same methods over its fixed view.

// NodeByID returns the node, or nil.
func (s *Store) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	return s.read().NodeByID(ws, id)
}

// NodeBySecretID returns the node holding secretID, or nil.
func (s *Store) NodeBySecretID(ws memdb.WatchSet, secretID string) (*structs.Node, error) {
	return s.read().NodeBySecretID(ws, secretID)
}

// Nodes returns all nodes sorted by ID.
func (s *Store) Nodes(ws memdb.WatchSet) ([]*structs.Node, error) { return s.read().Nodes(ws) }

// AllocByID returns the allocation, or nil.
func (s *Store) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	return s.read().AllocByID(ws, id)
}

// AllocsByNode returns the node's allocations sorted by ID.
func (s *Store) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	return s.read().AllocsByNode(ws, nodeID)
}

// AllocsByNodeTerminal returns the node's terminal or live allocations.
func (s *Store) AllocsByNodeTerminal(ws memdb.WatchSet, nodeID string, terminal bool) ([]*structs.Allocation, error) {
	return s.read().AllocsByNodeTerminal(ws, nodeID, terminal)
}

// AllocsByJob returns the job's allocations sorted by ID.
func (s *Store) AllocsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Allocation, error) {
	return s.read().AllocsByJob(ws, namespace, jobID)
}

// AllocsByEval returns the evaluation's allocations sorted by ID.
func (s *Store) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	return s.read().AllocsByEval(ws, evalID)
}

// Allocs returns an iterator over every allocation, yielding *structs.Allocation.
func (s *Store) Allocs(ws memdb.WatchSet) (memdb.ResultIterator, error) {
	return s.read().Allocs(ws)
}

// JobByID returns the job, or nil.
func (s *Store) JobByID(ws memdb.WatchSet, namespace, jobID string) (*structs.Job, error) {
	return s.read().JobByID(ws, namespace, jobID)
}

// Jobs returns all jobs sorted by namespace then ID.
func (s *Store) Jobs(ws memdb.WatchSet) ([]*structs.Job, error) { return s.read().Jobs(ws) }

// JobsByType returns the jobs of type typ sorted by namespace then ID.
func (s *Store) JobsByType(ws memdb.WatchSet, typ string) ([]*structs.Job, error) {
	return s.read().JobsByType(ws, typ)
}

// EvalByID returns the evaluation, or nil.
func (s *Store) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	return s.read().EvalByID(ws, id)
}

// EvalsByJob returns the job's evaluations sorted by ID.
func (s *Store) EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error) {
	return s.read().EvalsByJob(ws, namespace, jobID)
}

// Evals returns all evaluations sorted by ID.
func (s *Store) Evals(ws memdb.WatchSet) ([]*structs.Evaluation, error) { return s.read().Evals(ws) }

// EvalsByStatus returns the evaluations with status, sorted by ID.
func (s *Store) EvalsByStatus(ws memdb.WatchSet, status string) ([]*structs.Evaluation, error) {
	return s.read().EvalsByStatus(ws, status)
}

// EvalsByStatusSince returns the evaluations with status written at or
// after minIndex, in ModifyIndex then ID order.
func (s *Store) EvalsByStatusSince(ws memdb.WatchSet, status string, minIndex uint64) ([]*structs.Evaluation, error) {
	return s.read().EvalsByStatusSince(ws, status, minIndex)
}
