package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// writeTxn is one command's write transaction. It records which tables the
// command wrote so their index rows move to the command's index.
type writeTxn struct {
	*memdb.Txn
	index uint64
	cmd   structs.MessageType
	dirty [4]bool // nodes, allocs, jobs, evals
	// borrowed: the request belongs to the caller, not to a decoded
	// payload, so what the command keeps of it must be copied.
	borrowed bool
	// touched: the nodes and jobs whose allocs this command changed; their
	// alloc_watch rows move to index at commit.
	touched map[watchKey]struct{}
}

var tables = [4]string{TableNodes, TableAllocs, TableJobs, TableEvals}

func (tx *writeTxn) mark(table string) {
	for i, t := range tables {
		if t == table {
			tx.dirty[i] = true
		}
	}
}

func (tx *writeTxn) insert(table string, obj any) error {
	tx.mark(table)
	if err := tx.Insert(table, obj); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

func (tx *writeTxn) delete(table string, obj any) error {
	tx.mark(table)
	if err := tx.Delete(table, obj); err != nil {
		return fmt.Errorf("delete %s: %w", table, err)
	}
	return nil
}

// commitIndexes writes the index rows of the dirty tables and the latest row.
func (tx *writeTxn) commitIndexes() error {
	for i, t := range tables {
		if tx.dirty[i] {
			if err := tx.Insert(tableIndex, &indexEntry{Key: t, Value: tx.index}); err != nil {
				return fmt.Errorf("index %s: %w", t, err)
			}
		}
	}
	for k := range tx.touched {
		if err := tx.Insert(tableAllocWatch, &indexEntry{Key: k.String(), Value: tx.index}); err != nil {
			return fmt.Errorf("alloc watch %s: %w", k, err)
		}
	}
	if err := tx.Insert(tableIndex, &indexEntry{Key: latestKey, Value: tx.index}); err != nil {
		return fmt.Errorf("index %s: %w", latestKey, err)
	}
	return nil
}

// r reads through the write transaction, seeing its own writes.
func (tx *writeTxn) r() reader { return reader{tx.Txn} }

// apply dispatches a decoded command.
func (tx *writeTxn) apply(req any) (any, error) {
	switch req := req.(type) {
	case *structs.NodeRegisterRequest:
		return nil, tx.nodeRegister(req)
	case *structs.NodeDeregisterRequest:
		return nil, tx.nodeDeregister(req)
	case *structs.NodeUpdateStatusRequest:
		return nil, tx.nodeUpdateStatus(req)
	case *structs.JobRegisterRequest:
		return nil, tx.jobRegister(req)
	case *structs.JobDeregisterRequest:
		return nil, tx.jobDeregister(req)
	case *structs.EvalUpdateRequest:
		return nil, tx.evalUpdate(req)
	case *structs.AllocUpdateRequest:
		return tx.allocClientUpdate(req)
	case *structs.ApplyPlanResultsRequest:
		return nil, tx.applyPlanResults(req)
	}
	return nil, fmt.Errorf("%w: %T", structs.ErrUnknownCommand, req)
}
