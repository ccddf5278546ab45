package state

import (
	"cmp"

	"github.com/rejoinhq/rejoin/structs"
)

// allocKeys is an alloc's row in the alloc key tables: what its secondary
// indexes (node+terminal, job) use. One row object is shared by the two
// tables. It is a value: rows are compared to know whether a write changed
// them, and replaced, never mutated.
//
// Allocs by evaluation have no table: AllocsByEval reads the evaluation's
// job and filters. It is rare (the decision hook, operators), while a table
// would cost every restore and placement one more radix insert per alloc.
type allocKeys struct {
	ID        string
	NodeID    string
	Terminal  bool
	Namespace string
	JobID     string
}

func keysOf(a *structs.Allocation) allocKeys {
	return allocKeys{ID: a.ID, NodeID: a.NodeID, Terminal: a.TerminalStatus(),
		Namespace: a.Namespace, JobID: a.JobID}
}

// keyPart names one secondary index of allocs, each its own table (see
// schema).
type keyPart int

const (
	partNode keyPart = iota // node ID, terminal, alloc ID
	partJob                 // namespace, job ID, alloc ID
	numKeyParts
)

// keyTables are the tables of the parts, by keyPart.
var keyTables = [numKeyParts]string{tableAllocsByNode, tableAllocsByJob}

// has reports whether k has a row in part's table: an alloc with no node
// is not listed by node.
func (k *allocKeys) has(p keyPart) bool {
	if p == partNode {
		return k.NodeID != ""
	}
	return true
}

// compare orders rows as part's index keys order them (given IDs without
// NUL bytes; the order only makes bulk loads faster, it is not relied on).
func (k *allocKeys) compare(p keyPart, o *allocKeys) int {
	switch p {
	case partNode:
		if c := cmp.Compare(k.NodeID, o.NodeID); c != 0 {
			return c
		}
		if k.Terminal != o.Terminal {
			if k.Terminal {
				return 1
			}
			return -1
		}
	case partJob:
		if c := cmp.Compare(k.Namespace, o.Namespace); c != 0 {
			return c
		}
		if c := cmp.Compare(k.JobID, o.JobID); c != 0 {
			return c
		}
	}
	return cmp.Compare(k.ID, o.ID)
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
// alloc itself, its key rows when they changed, and the watch rows of its
// node and job. Every alloc write goes through here, so the tables always
// agree.
func (tx *writeTxn) putAlloc(old, a *structs.Allocation) error {
	if err := tx.insert(TableAllocs, a); err != nil {
		return err
	}
	k := keysOf(a)
	if old == nil {
		if err := tx.insertKeys(&k); err != nil {
			return err
		}
	} else if ok := keysOf(old); ok != k {
		for p := range numKeyParts {
			// A row whose key moves is deleted and inserted; one whose key
			// stays is replaced in place by the insert.
			if ok.has(p) && (!k.has(p) || ok.compare(p, &k) != 0) {
				if err := tx.Delete(keyTables[p], &ok); err != nil {
					return err
				}
			}
			if k.has(p) {
				if err := tx.Insert(keyTables[p], &k); err != nil {
					return err
				}
			}
		}
		if old.NodeID != a.NodeID || old.Namespace != a.Namespace || old.JobID != a.JobID {
			tx.touch(nodeWatch(old.NodeID))
			tx.touch(jobWatch(old.Namespace, old.JobID))
		}
	}
	tx.touch(nodeWatch(a.NodeID))
	tx.touch(jobWatch(a.Namespace, a.JobID))
	return nil
}

// insertKeys inserts a new alloc's key rows.
func (tx *writeTxn) insertKeys(k *allocKeys) error {
	for p := range numKeyParts {
		if k.has(p) {
			if err := tx.Insert(keyTables[p], k); err != nil {
				return err
			}
		}
	}
	return nil
}

// touch records that an alloc of k changed in this command.
func (tx *writeTxn) touch(k watchKey) {
	if tx.touched == nil {
		tx.touched = make(map[watchKey]struct{})
	}
	tx.touched[k] = struct{}{}
}
