package state

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// Objects is a whole state to load as is: no command semantics are applied,
// so statuses, AllocStates and every Create/ModifyIndex are kept exactly.
type Objects struct {
	Nodes  []*structs.Node
	Jobs   []*structs.Job
	Allocs []*structs.Allocation
	Evals  []*structs.Evaluation
}

// LoadStore builds a fresh store holding exactly objs, in one write
// transaction. LatestIndex and the index of every table (nodes, allocs,
// jobs, evals, even an empty one) are set to index, or to the highest
// ModifyIndex in objs when index is 0. The store takes ownership of the
// objects: the caller must not change them afterwards. An empty namespace on
// a job, alloc or eval is set to the default one, as commands do (the
// indexes need one).
//
// Every ID must be non-empty and unique within its table, and every alloc
// needs a JobID; otherwise a *LoadError (matching structs.ErrInvalidRequest)
// is returned and no store.
func LoadStore(objs Objects, index uint64, logger hclog.Logger) (*Store, error) {
	if index == 0 {
		index = maxModifyIndex(objs)
	}
	idx := loadIndexes{latest: index, tables: map[string]uint64{}}
	for _, t := range tables {
		idx.tables[t] = index
	}
	return loadStore(objs, idx, logger)
}

// loadIndexes are the index rows a loaded store gets.
type loadIndexes struct {
	latest uint64
	tables map[string]uint64 // by table name
	// watch: alloc_watch rows by key; nil derives them from the allocs.
	watch map[string]uint64
}

func loadStore(objs Objects, idx loadIndexes, logger hclog.Logger) (*Store, error) {
	s, err := NewStore(logger)
	if err != nil {
		return nil, err
	}
	l := newLoader(s.db.Txn(true))
	defer l.abort()
	for k, v := range idx.watch {
		if err := l.setWatch(k, v); err != nil {
			return nil, err
		}
	}
	for i, n := range objs.Nodes {
		if err := l.node(i, n); err != nil {
			return nil, err
		}
	}
	for i, j := range objs.Jobs {
		if err := l.job(i, j); err != nil {
			return nil, err
		}
	}
	for i, a := range objs.Allocs {
		if err := l.alloc(i, a); err != nil {
			return nil, err
		}
	}
	for i, e := range objs.Evals {
		if err := l.eval(i, e); err != nil {
			return nil, err
		}
	}
	for t, v := range idx.tables {
		if err := l.index(t, v); err != nil {
			return nil, err
		}
	}
	if err := l.index(latestKey, idx.latest); err != nil {
		return nil, err
	}
	if err := l.finish(idx.latest); err != nil {
		return nil, err
	}
	l.commit()
	return s, nil
}

func maxModifyIndex(objs Objects) uint64 {
	var m uint64
	for _, n := range objs.Nodes {
		if n != nil {
			m = max(m, n.ModifyIndex)
		}
	}
	for _, j := range objs.Jobs {
		if j != nil {
			m = max(m, j.ModifyIndex)
		}
	}
	for _, a := range objs.Allocs {
		if a != nil {
			m = max(m, a.ModifyIndex)
		}
	}
	for _, e := range objs.Evals {
		if e != nil {
			m = max(m, e.ModifyIndex)
		}
	}
	return m
}

// LoadError is an object LoadStore or a snapshot cannot hold: a missing or
// duplicate ID, or a missing field an index needs. It matches
// structs.ErrInvalidRequest.
type LoadError struct {
	Table  string
	Pos    int // position of the object in its input (slice or snapshot table)
	ID     string
	Reason string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("state: load %s #%d %q: %s", e.Table, e.Pos, e.ID, e.Reason)
}

// Is makes the error match structs.ErrInvalidRequest.
func (e *LoadError) Is(target error) bool { return target == structs.ErrInvalidRequest }

// loader fills a fresh store in one write transaction. Objects may come in
// any order; in ID order (as snapshots hold them) the duplicate check costs
// a string comparison instead of a lookup.
type loader struct {
	txn *memdb.Txn
	// last is the greatest primary key inserted per table, for the
	// duplicate check (see unique).
	last map[string]string
	// watch: per node and job key, the highest ModifyIndex of its allocs.
	watch map[watchKey]uint64
	// watchSet: watch rows were given explicitly (snapshot); deriveWatch
	// then does nothing.
	watchSet bool
	// keys are the allocs' key rows, inserted by finish: each key table in
	// its own key order, which is several times faster than inserting them
	// with each alloc (see schema).
	keys []*allocKeys
}

func newLoader(txn *memdb.Txn) *loader {
	return &loader{txn: txn, last: map[string]string{}, watch: map[watchKey]uint64{}}
}

func (l *loader) abort() { l.txn.Abort() }

func (l *loader) commit() { l.txn.Commit() }

// unique fails if key (the table's "id" index arguments, joined into one
// string for the order check) is already in the table.
func (l *loader) unique(table string, pos int, id, key string, args ...any) error {
	if last, ok := l.last[table]; !ok || key > last {
		l.last[table] = key
		return nil
	}
	raw, err := l.txn.First(table, "id", args...)
	if err != nil {
		return fmt.Errorf("state: load %s: %w", table, err)
	}
	if raw != nil {
		return &LoadError{Table: table, Pos: pos, ID: id, Reason: "duplicate ID"}
	}
	return nil
}

func (l *loader) insert(table string, obj any) error {
	if err := l.txn.Insert(table, obj); err != nil {
		return fmt.Errorf("state: load %s: %w", table, err)
	}
	return nil
}

func (l *loader) node(pos int, n *structs.Node) error {
	if n == nil || n.ID == "" {
		return &LoadError{Table: TableNodes, Pos: pos, Reason: "empty ID"}
	}
	if err := l.unique(TableNodes, pos, n.ID, n.ID, n.ID); err != nil {
		return err
	}
	return l.insert(TableNodes, n)
}

func (l *loader) job(pos int, j *structs.Job) error {
	if j == nil || j.ID == "" {
		return &LoadError{Table: TableJobs, Pos: pos, Reason: "empty ID"}
	}
	j.Namespace = nsOrDefault(j.Namespace)
	if err := l.unique(TableJobs, pos, j.ID, j.Namespace+"\x00"+j.ID, j.Namespace, j.ID); err != nil {
		return err
	}
	return l.insert(TableJobs, j)
}

func (l *loader) alloc(pos int, a *structs.Allocation) error {
	switch {
	case a == nil || a.ID == "":
		return &LoadError{Table: TableAllocs, Pos: pos, Reason: "empty ID"}
	case a.JobID == "":
		return &LoadError{Table: TableAllocs, Pos: pos, ID: a.ID, Reason: "empty JobID"}
	}
	a.Namespace = nsOrDefault(a.Namespace)
	if err := l.unique(TableAllocs, pos, a.ID, a.ID, a.ID); err != nil {
		return err
	}
	if err := l.insert(TableAllocs, a); err != nil {
		return err
	}
	k := keysOf(a)
	l.keys = append(l.keys, &k)
	if !l.watchSet {
		for _, w := range [2]watchKey{nodeWatch(a.NodeID), jobWatch(a.Namespace, a.JobID)} {
			l.watch[w] = max(l.watch[w], a.ModifyIndex)
		}
	}
	return nil
}

func (l *loader) eval(pos int, e *structs.Evaluation) error {
	if e == nil || e.ID == "" {
		return &LoadError{Table: TableEvals, Pos: pos, Reason: "empty ID"}
	}
	e.Namespace = nsOrDefault(e.Namespace)
	if err := l.unique(TableEvals, pos, e.ID, e.ID, e.ID); err != nil {
		return err
	}
	return l.insert(TableEvals, e)
}

// index sets an index-table row (a table name or latestKey).
func (l *loader) index(key string, v uint64) error {
	return l.insert(tableIndex, &indexEntry{Key: key, Value: v})
}

// setWatch sets an alloc_watch row as a snapshot recorded it.
func (l *loader) setWatch(key string, v uint64) error {
	l.watchSet = true
	return l.insert(tableAllocWatch, &indexEntry{Key: key, Value: v})
}

// finish inserts the allocs' key rows and the derived alloc_watch rows
// (deriveWatch); call it once, after the last object. Each key table is
// filled in its own key order (keyOrder): go-memdb inserts into a large
// radix tree in random order copy whole paths (see schema).
//
// Filling the three tables from three goroutines (their radix
// transactions are separate) was measured and not kept: it used a fifth
// more CPU for no wall-clock gain on two busy cores, and go-memdb does
// not promise that a Txn can be shared.
func (l *loader) finish(index uint64) error {
	for p := range numKeyParts {
		for _, k := range keyOrder(l.keys, p) {
			if err := l.insert(keyTables[p], k); err != nil {
				return err
			}
		}
	}
	l.keys = nil
	return l.deriveWatch(index)
}

// deriveWatch writes an alloc_watch row for every node and job that has
// allocs: the highest ModifyIndex among them, capped at index (nothing can
// have changed after the store's latest index), or index if none is set.
func (l *loader) deriveWatch(index uint64) error {
	if l.watchSet {
		return nil
	}
	for k, v := range l.watch {
		if v == 0 || v > index {
			v = index
		}
		if err := l.insert(tableAllocWatch, &indexEntry{Key: k.String(), Value: v}); err != nil {
			return err
		}
	}
	return nil
}
