package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// Table names. They are also the keys Index accepts.
const (
	TableNodes  = "nodes"
	TableAllocs = "allocs"
	TableJobs   = "jobs"
	TableEvals  = "evals"
	tableIndex  = "index"
)

// latestKey is the index-table row holding the index of the last applied
// command, whichever tables it touched (an ignored unknown command touches
// none but still moves it).
const latestKey = "latest"

// indexEntry is one row of the index table: the last index at which Key (a
// table name, or latestKey) changed.
type indexEntry struct {
	Key   string
	Value uint64
}

// schema is the store's whole shape, as data.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableIndex: {
			Name: tableIndex,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
		TableNodes: {
			Name: TableNodes,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				// Not unique: two nodes sharing a secret must not make one
				// of them disappear from the index.
				"secret_id": {Name: "secret_id", AllowMissing: true,
					Indexer: &memdb.StringFieldIndex{Field: "SecretID"}},
			},
		},
		TableAllocs: {
			Name: TableAllocs,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				// node: NodeID then terminal, so "node_prefix" with one
				// argument lists a node's allocs and two arguments list its
				// live or terminal ones.
				"node": {Name: "node", AllowMissing: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{
						exactPrefix{&memdb.StringFieldIndex{Field: "NodeID"}},
						&memdb.ConditionalIndex{Conditional: allocTerminal},
					},
				}},
				"job": {Name: "job", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Namespace"},
					&memdb.StringFieldIndex{Field: "JobID"},
				}}},
				"eval": {Name: "eval", AllowMissing: true,
					Indexer: &memdb.StringFieldIndex{Field: "EvalID"}},
			},
		},
		TableJobs: {
			Name: TableJobs,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Namespace"},
					&memdb.StringFieldIndex{Field: "ID"},
				}}},
			},
		},
		TableEvals: {
			Name: TableEvals,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				"job": {Name: "job", AllowMissing: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Namespace"},
					&memdb.StringFieldIndex{Field: "JobID"},
				}}},
			},
		},
	}}
}

// allocTerminal is the second part of the allocs "node" index.
func allocTerminal(obj any) (bool, error) {
	a, ok := obj.(*structs.Allocation)
	if !ok {
		return false, fmt.Errorf("allocs node index: got %T", obj)
	}
	return a.TerminalStatus(), nil
}

// exactPrefix makes a string indexer's prefix form the full, terminated
// value. A CompoundIndex queried through "<name>_prefix" with fewer arguments
// than parts uses the last argument's prefix form; StringFieldIndex's prefix
// form is unterminated, so node "n1" would also match node "n10". IDs are
// free-form strings here, not fixed-length UUIDs, so the match must be exact.
type exactPrefix struct {
	*memdb.StringFieldIndex
}

// PrefixFromArgs returns the exact (null-terminated) key.
func (e exactPrefix) PrefixFromArgs(args ...any) ([]byte, error) {
	return e.FromArgs(args...)
}
