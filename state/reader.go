package state

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// reader implements every read over one memdb transaction. Snapshot embeds
// it; Store builds one over a fresh read transaction per call. Objects it
// returns are shared with the store: callers must Copy before changing them.
type reader struct {
	txn *memdb.Txn
}

// Index returns the last index at which table changed, 0 if never.
func (r reader) Index(table string) uint64 {
	raw, err := r.txn.First(tableIndex, "id", table)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*indexEntry).Value
}

// LatestIndex returns the index of the last applied command.
func (r reader) LatestIndex() uint64 { return r.Index(latestKey) }

// first reads one object and adds its watch channel to ws.
func (r reader) first(ws memdb.WatchSet, table, index string, args ...any) (any, error) {
	ch, raw, err := r.txn.FirstWatch(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s lookup: %w", table, err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	return raw, nil
}

// list collects an index scan and adds its watch channel to ws.
func list[T any](r reader, ws memdb.WatchSet, table, index string, args ...any) ([]T, error) {
	it, err := r.txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s scan: %w", table, err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return out, nil
}

func one[T any](raw any, err error) (T, error) {
	var zero T
	if err != nil || raw == nil {
		return zero, err
	}
	return raw.(T), nil
}

// NodeByID returns the node, or nil.
func (r reader) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	return one[*structs.Node](r.first(ws, TableNodes, "id", id))
}

// NodeBySecretID returns the node holding secretID, or nil. An empty secret
// matches nothing.
func (r reader) NodeBySecretID(ws memdb.WatchSet, secretID string) (*structs.Node, error) {
	if secretID == "" {
		return nil, nil
	}
	return one[*structs.Node](r.first(ws, TableNodes, "secret_id", secretID))
}

// Nodes returns all nodes sorted by ID.
func (r reader) Nodes(ws memdb.WatchSet) ([]*structs.Node, error) {
	return list[*structs.Node](r, ws, TableNodes, "id")
}

// AllocByID returns the allocation, or nil.
func (r reader) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	return one[*structs.Allocation](r.first(ws, TableAllocs, "id", id))
}

// AllocsByNode returns the node's allocations sorted by ID.
func (r reader) AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	out, err := r.allocsByKeys(ws, nodeWatch(nodeID), partNode, nodeID)
	// The index orders live before terminal; the contract is ID order.
	slices.SortFunc(out, byAllocID)
	return out, err
}

// AllocsByNodeTerminal returns the node's terminal (or non-terminal)
// allocations sorted by ID.
func (r reader) AllocsByNodeTerminal(ws memdb.WatchSet, nodeID string, terminal bool) ([]*structs.Allocation, error) {
	return r.allocsByKeys(ws, nodeWatch(nodeID), partNode, nodeID, terminal)
}

// AllocsByJob returns the job's allocations sorted by ID. An empty namespace
// means the default one.
func (r reader) AllocsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Allocation, error) {
	ns := nsOrDefault(namespace)
	return r.allocsByKeys(ws, jobWatch(ns, jobID), partJob, ns, jobID)
}

// AllocsByEval returns the allocations whose EvalID is evalID (the
// evaluation that created or last updated them), sorted by ID. They are
// read through the evaluation's job; once the evaluation itself is gone
// (garbage-collected) every alloc is scanned. A watch on it fires on any
// alloc write (allocs are not tracked per eval).
func (r reader) AllocsByEval(ws memdb.WatchSet, evalID string) ([]*structs.Allocation, error) {
	if evalID == "" {
		return nil, nil
	}
	if ws != nil {
		ch, _, err := r.txn.FirstWatch(tableIndex, "id", TableAllocs)
		if err != nil {
			return nil, fmt.Errorf("state: allocs watch: %w", err)
		}
		ws.Add(ch)
	}
	e, err := r.EvalByID(nil, evalID)
	if err != nil {
		return nil, err
	}
	var out []*structs.Allocation
	if e != nil {
		allocs, err := r.AllocsByJob(nil, e.Namespace, e.JobID)
		if err != nil {
			return nil, err
		}
		for _, a := range allocs {
			if a.EvalID == evalID {
				out = append(out, a)
			}
		}
		return out, nil
	}
	it, err := r.Allocs(nil)
	if err != nil {
		return nil, err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*structs.Allocation); a.EvalID == evalID {
			out = append(out, a)
		}
	}
	return out, nil
}

// allocsByKeys scans part's key table under the prefix args and returns the
// allocs it names, in the table's order. ws gets the scan's channel (an alloc joining or leaving
// the set, or its keys changing) and the alloc_watch row of w (any alloc of
// that node or job changing).
func (r reader) allocsByKeys(ws memdb.WatchSet, w watchKey, part keyPart, args ...any) ([]*structs.Allocation, error) {
	it, err := r.txn.Get(keyTables[part], "id", args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", keyTables[part], err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
		ch, _, err := r.txn.FirstWatch(tableAllocWatch, "id", w.String())
		if err != nil {
			return nil, fmt.Errorf("state: allocs watch: %w", err)
		}
		ws.Add(ch)
	}
	var out []*structs.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a, err := r.AllocByID(nil, raw.(*allocKeys).ID)
		if err != nil {
			return nil, err
		}
		if a == nil {
			return nil, fmt.Errorf("state: %s names missing alloc %q", keyTables[part], raw.(*allocKeys).ID)
		}
		out = append(out, a)
	}
	return out, nil
}

// allocWatchIndex returns the index of the last write to an alloc of k's
// node or job (0 if none was ever written).
func (r reader) allocWatchIndex(k watchKey) (uint64, error) {
	raw, err := r.txn.First(tableAllocWatch, "id", k.String())
	if err != nil {
		return 0, fmt.Errorf("state: allocs watch: %w", err)
	}
	if raw == nil {
		return 0, nil
	}
	return raw.(*indexEntry).Value, nil
}

// Allocs returns an iterator over every allocation in ID order; it yields
// *structs.Allocation and stays consistent however long it is held.
func (r reader) Allocs(ws memdb.WatchSet) (memdb.ResultIterator, error) {
	it, err := r.txn.Get(TableAllocs, "id")
	if err != nil {
		return nil, fmt.Errorf("state: allocs scan: %w", err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	return it, nil
}

// JobByID returns the job, or nil. An empty namespace means the default one.
func (r reader) JobByID(ws memdb.WatchSet, namespace, jobID string) (*structs.Job, error) {
	if jobID == "" {
		return nil, nil
	}
	return one[*structs.Job](r.first(ws, TableJobs, "id", nsOrDefault(namespace), jobID))
}

// Jobs returns all jobs sorted by namespace then ID.
func (r reader) Jobs(ws memdb.WatchSet) ([]*structs.Job, error) {
	return list[*structs.Job](r, ws, TableJobs, "id")
}

// JobsByType returns the jobs of type typ sorted by namespace then ID, as
// Jobs orders them.
func (r reader) JobsByType(ws memdb.WatchSet, typ string) ([]*structs.Job, error) {
	if typ == "" {
		return nil, nil
	}
	return list[*structs.Job](r, ws, TableJobs, "type", typ)
}

// EvalByID returns the evaluation, or nil.
func (r reader) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	return one[*structs.Evaluation](r.first(ws, TableEvals, "id", id))
}

// EvalsByJob returns the job's evaluations sorted by ID.
func (r reader) EvalsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Evaluation, error) {
	if jobID == "" {
		return nil, nil
	}
	return list[*structs.Evaluation](r, ws, TableEvals, "job", nsOrDefault(namespace), jobID)
}

// EvalsByStatus returns the evaluations with status, sorted by ID. Its
// cost grows with their number, not with every evaluation in the store.
func (r reader) EvalsByStatus(ws memdb.WatchSet, status string) ([]*structs.Evaluation, error) {
	if status == "" {
		return nil, nil
	}
	out, err := list[*structs.Evaluation](r, ws, TableEvals, "status", status)
	slices.SortFunc(out, byEvalID)
	return out, err
}

// EvalsByStatusSince returns the evaluations with status whose last write
// (ModifyIndex) is at or after minIndex, in ModifyIndex then ID order. Its
// cost grows with their number only: what changed since a reader's last
// look.
func (r reader) EvalsByStatusSince(ws memdb.WatchSet, status string, minIndex uint64) ([]*structs.Evaluation, error) {
	if status == "" {
		return nil, nil
	}
	it, err := r.txn.LowerBound(TableEvals, "status", status, minIndex)
	if err != nil {
		return nil, fmt.Errorf("state: evals scan: %w", err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []*structs.Evaluation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.Evaluation)
		if e.Status != status {
			break // past the status's range
		}
		out = append(out, e)
	}
	return out, nil
}

// Evals returns all evaluations sorted by ID.
func (r reader) Evals(ws memdb.WatchSet) ([]*structs.Evaluation, error) {
	return list[*structs.Evaluation](r, ws, TableEvals, "id")
}

func byAllocID(a, b *structs.Allocation) int { return cmp.Compare(a.ID, b.ID) }

func byEvalID(a, b *structs.Evaluation) int { return cmp.Compare(a.ID, b.ID) }

func nsOrDefault(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}
