package state

import (
	"github.com/hashicorp/go-memdb"
)

// Table names. The first four are also the keys Index accepts.
const (
	TableNodes  = "nodes"
	TableAllocs = "allocs"
	TableJobs   = "jobs"
	TableEvals  = "evals"
	tableIndex  = "index"
	// tableAllocKeys holds each alloc's secondary keys (node+terminal, job,
	// eval): see allocKeys.
	tableAllocKeys = "alloc_keys"
	// tableAllocWatch holds, per node and per job, the last index at which
	// one of its allocs changed: what blocking reads by node or job watch.
	tableAllocWatch = "alloc_watch"
)

// latestKey is the index-table row holding the index of the last applied
// command, whichever tables it touched (an ignored unknown command touches
// none but still moves it).
const latestKey = "latest"

// indexEntry is a row of the index and alloc_watch tables: the last index at
// which Key changed.
type indexEntry struct {
	Key   string
	Value uint64
}

// schema is the store's whole shape, as data.
//
// Allocations are split over two tables. "allocs" holds the allocation
// itself under its ID only; "alloc_keys" holds one small row per alloc with
// the fields the secondary indexes use (node+terminal, job, eval). A client
// update rewrites 1,000 allocs in one command but changes none of those keys
// (except when an alloc becomes terminal), so it writes one radix tree
// instead of four: measured 3x the write throughput, and less garbage for
// the GC. Reads by node, job or eval scan alloc_keys and fetch each alloc
// by ID in the same transaction.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableIndex:      indexTable(tableIndex),
		tableAllocWatch: indexTable(tableAllocWatch),
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
				// Typed (alloc_indexers.go): the hot path computes it twice
				// per updated alloc.
				"id": {Name: "id", Unique: true, Indexer: allocIDIndex{}},
			},
		},
		tableAllocKeys: {
			Name: tableAllocKeys,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				// node: NodeID then terminal, so "node_prefix" with one
				// argument lists a node's allocs and "node" with two its
				// live or terminal ones.
				"node": {Name: "node", AllowMissing: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{
						exactPrefix{&memdb.StringFieldIndex{Field: "NodeID"}},
						&memdb.BoolFieldIndex{Field: "Terminal"},
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

func indexTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		},
	}
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
