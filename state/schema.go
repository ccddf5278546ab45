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
	// The alloc key tables list each alloc under one secondary key
	// (node+terminal, job): see allocKeys.
	tableAllocsByNode = "allocs_by_node"
	tableAllocsByJob  = "allocs_by_job"
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
// Allocations are split over three tables. "allocs" holds the allocation
// itself under its ID only; "allocs_by_node" and "allocs_by_job" hold one
// small row per alloc (allocKeys, shared by the two) under the fields of one
// secondary index. A client update rewrites 1,000 allocs in one command but
// changes none of those keys (except when an alloc becomes terminal), so it
// writes one radix tree instead of three: measured 3x the write throughput
// (against four, with an eval index), and less garbage for the GC. Reads by
// node or job scan the key table and fetch each alloc by ID in the same
// transaction; reads by evaluation go through the evaluation's job.
//
// Each secondary index is its own table, with a single index, so a bulk
// load (snapshot restore) can insert each table's rows in key order: go-memdb
// inserts every index of a row at once, and random-order inserts into a
// large radix tree copy whole paths (the transaction caches only 8,192
// modified nodes): restore of 1,000,000 allocs went from 26.7k to 37.9k
// allocs/s and from 6.2 GB to 3.5 GB of garbage.
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
		tableAllocsByNode: keyTable(partNode),
		tableAllocsByJob:  keyTable(partJob),
		TableJobs: {
			Name: TableJobs,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "Namespace"},
					&memdb.StringFieldIndex{Field: "ID"},
				}}},
				// A node becoming ready needs the system jobs only.
				"type": {Name: "type", AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Type"}},
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
				// The worker reads only pending evaluations and a node
				// becoming ready only blocked ones: without this index
				// both scanned every evaluation ever written.
				// Ordered by ModifyIndex within a status, so the worker
				// reads only what changed since its last scan.
				"status": {Name: "status", AllowMissing: true, Indexer: evalStatusIndex{}},
			},
		},
	}}
}

func keyTable(p keyPart) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: keyTables[p],
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: allocKeyIndex{part: p}},
		},
	}
}

func indexTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		},
	}
}
