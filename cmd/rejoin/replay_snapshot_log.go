package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rejoinhq/rejoin/cmdlog"
)

// errFound stops a log walk once the wanted record is seen.
var errFound = errors.New("found")

// loadRejoinWithLog reads a rejoin snapshot and, with logDir, replays the
// command log on top of it: every record above the snapshot's index, up to
// until (an index) or at (a time) when given.
func loadRejoinWithLog(path, logDir string, until uint64, at time.Time, stderr io.Writer) (*stateView, error) {
	v, st, err := loadRejoinView(path, stderr)
	if err != nil || logDir == "" {
		return v, err
	}
	base := st.LatestIndex()
	if until != 0 && until < base {
		return nil, badInput("--until %d is below the snapshot's index %d: the state at that index cannot be rebuilt from this snapshot", until, base)
	}
	last, err := cmdlog.ReplayInto(st, logDir, until, at)
	if err != nil {
		return nil, fmt.Errorf("replay log %s: %w", logDir, err)
	}
	created := v.CreatedAt
	if v, err = viewFromStore(st); err != nil {
		return nil, err
	}
	v.CreatedAt = created
	if last > base {
		err := cmdlog.ReadDir(logDir, func(r cmdlog.Record) error {
			if r.Index == last {
				v.LastRecordTime = r.Time.UTC()
				return errFound
			}
			return nil
		})
		if err != nil && !errors.Is(err, errFound) {
			return nil, fmt.Errorf("read log %s: %w", logDir, err)
		}
	}
	return v, nil
}
