package state

import (
	"context"

	"github.com/hashicorp/go-memdb"
)

// BlockingQuery runs query against a fresh Snapshot and WatchSet until the
// index it returns is above minIndex, waiting between runs for what the query
// read to change. It returns the last run's index and error; ctx ending is
// not an error (it returns the last result, as a blocking query whose
// MaxQueryTime elapsed). A query that watches nothing is woken by any write.
// No store lock is held while it waits.
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64,
	query func(ws memdb.WatchSet, snap *Snapshot) (uint64, error)) (uint64, error) {
	for {
		ws := memdb.NewWatchSet()
		snap := s.Snapshot()
		idx, err := query(ws, snap)
		if err != nil || idx > minIndex || ctx.Err() != nil {
			return idx, err
		}
		if len(ws) == 0 {
			ch, _, err := snap.txn.FirstWatch(tableIndex, "id", latestKey)
			if err != nil {
				return idx, err
			}
			ws.Add(ch)
		}
		if ws.WatchCtx(ctx) != nil {
			return idx, nil
		}
	}
}
