package state

import (
	"fmt"
	"testing"

	"github.com/hashicorp/go-memdb"
)

// BenchmarkMemdbSortedInsertFloor measures what a restore cannot go below
// with this schema: 1,000,000 inserts, in key order, into a fresh go-memdb
// table with one index (the shape of each alloc key table). A restore
// makes three such passes per alloc (allocs plus two key tables).
func BenchmarkMemdbSortedInsertFloor(b *testing.B) {
	const n = 1_000_000
	rows := make([]*allocKeys, n)
	for i := range rows {
		rows[i] = &allocKeys{ID: fmt.Sprintf("alloc-%07d", i), Namespace: "default", JobID: fmt.Sprintf("job-%05d", i/100)}
	}
	table := keyTable(partJob)
	sch := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{table.Name: table}}
	b.ResetTimer()
	for b.Loop() {
		db, err := memdb.NewMemDB(sch)
		if err != nil {
			b.Fatal(err)
		}
		txn := db.Txn(true)
		for _, k := range rows {
			if err := txn.Insert(table.Name, k); err != nil {
				b.Fatal(err)
			}
		}
		txn.Commit()
	}
	b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}
