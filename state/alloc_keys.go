package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// allocKeys is an alloc_keys row: what the secondary indexes of an
// allocation use. It is a value: rows are compared to know whether a write
// changed them, and replaced, never mutated.
type allocKeys struct {
	ID        string
	NodeID    string
	Terminal  bool
	Namespace string
	JobID     string
	EvalID    string
}

func keysOf(a *structs.Allocation) allocKeys {
	return allocKeys{ID: a.ID, NodeID: a.NodeID, Terminal: a.TerminalStatus(),
		Namespace: a.Namespace, JobID: a.JobID, EvalID: a.EvalID}
}

// watchKey names an alloc_watch row: the allocs of one node or one job.
type watchKey struct {
	job bool
	ns  string // job namespace
	id  string // node ID or job ID
}

func nodeWatch(nodeID string) watchKey   { return watchKey{id: nodeID} }
func jobWatch(ns, jobID string) watchKey { return watchKey{job: true, ns: ns, id: jobID} }

func (k watchKey) String() string {
	if k.job {
		return "job\x00" + k.ns + "\x00" + k.id
	}
	return "node\x00" + k.id
}

// putAlloc writes a (old is the stored version, nil for a new alloc): the
// alloc itself, its keys row when they changed, and the watch rows of its
// node and job. Every alloc write goes through here, so the two tables
// always agree.
func (tx *writeTxn) putAlloc(old, a *structs.Allocation) error {
	if err := tx.insert(TableAllocs, a); err != nil {
		return err
	}
	k := keysOf(a)
	if old == nil || keysOf(old) != k {
		if err := tx.Insert(tableAllocKeys, &k); err != nil {
			return err
		}
		if old != nil && (old.NodeID != a.NodeID || old.Namespace != a.Namespace || old.JobID != a.JobID) {
			tx.touch(nodeWatch(old.NodeID))
			tx.touch(jobWatch(old.Namespace, old.JobID))
		}
	}
	tx.touch(nodeWatch(a.NodeID))
	tx.touch(jobWatch(a.Namespace, a.JobID))
	return nil
}

// touch records that an alloc of k changed in this command.
func (tx *writeTxn) touch(k watchKey) {
	if tx.touched == nil {
		tx.touched = make(map[watchKey]struct{})
	}
	tx.touched[k] = struct{}{}
}
