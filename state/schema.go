package state

import (
	"github.com/hashicorp/go-memdb"
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
			// Typed indexers (alloc_indexers.go): this is the hot table.
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: allocIDIndex{}},
				// node: NodeID then terminal, so "node_prefix" with one
				// argument lists a node's allocs and two arguments to
				// "node" list its live or terminal ones.
				"node": {Name: "node", AllowMissing: true, Indexer: allocNodeIndex{}},
				"job":  {Name: "job", Indexer: allocJobIndex{}},
				"eval": {Name: "eval", AllowMissing: true, Indexer: allocEvalIndex{}},
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
