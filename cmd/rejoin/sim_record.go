package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rejoinhq/rejoin/cmdlog"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// `rejoin sim --record DIR` writes what the simulated server's store saw in
// rejoin's own formats, so `rejoin replay` and `rejoin snapshot` read it:
//
//	DIR/start.snap    snapshot of the empty store the run started from (index 0)
//	DIR/log/          the command log (package cmdlog), stamped with simulated time
//	DIR/state.snap    snapshot of the store when the run ended
//	DIR/summary.json  the run's --json summary
//	DIR/README.txt    how to replay it
const recordReadme = `rejoin sim --record: what the simulated server's state store saw.

start.snap    the empty store the run started from (snapshot at index 0)
log/          every command the store applied, stamped with simulated time
state.snap    the store when the run ended
summary.json  the run's summary (rejoin sim --json)

Decisions the reconciler would make at any moment of the run:
  rejoin replay --snapshot start.snap --log log --at 2026-01-01T00:30:00Z --json
  rejoin replay --snapshot start.snap --log log --until INDEX --json
What the store held at the end:
  rejoin snapshot inspect state.snap
`

// commandRecorder is the store's command sink for --record.
type commandRecorder struct {
	dir string
	log *cmdlog.Log
	// now stamps records: the simulation's clock once the simulation
	// exists, its epoch before (the clock starts there).
	now  func() time.Time
	err  error // first append error; later records are dropped
	recs int
}

func newCommandRecorder(dir string) (*commandRecorder, error) {
	logDir := filepath.Join(dir, "log")
	if entries, err := os.ReadDir(logDir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already holds a recording; choose an empty directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	empty, err := state.NewStore(nil)
	if err != nil {
		return nil, err
	}
	if _, err := empty.SaveSnapshotFile(filepath.Join(dir, "start.snap"), testutil.SimEpoch); err != nil {
		return nil, err
	}
	l, err := cmdlog.Open(logDir, cmdlog.Options{})
	if err != nil {
		return nil, err
	}
	return &commandRecorder{dir: dir, log: l, now: func() time.Time { return testutil.SimEpoch }}, nil
}

// write appends one command. It must never fail the store, so an error is
// kept for close.
func (r *commandRecorder) write(index uint64, t structs.MessageType, payload []byte) {
	if r.err != nil {
		return
	}
	if err := r.log.Append(cmdlog.Record{Index: index, Time: r.now(), Type: t, Payload: payload}); err != nil {
		r.err = err
		return
	}
	r.recs++
}

// close syncs the log and writes the final snapshot, the summary and the README.
func (r *commandRecorder) close(res *testutil.SimResult, store *state.Store, end time.Time) error {
	err := errors.Join(r.err, r.log.Sync(), r.log.Close())
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(r.dir, "log"), err)
	}
	if _, err := store.SaveSnapshotFile(filepath.Join(r.dir, "state.snap"), end); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "README.txt"), []byte(recordReadme), 0o644); err != nil {
		return err
	}
	sum, err := os.Create(filepath.Join(r.dir, "summary.json"))
	if err != nil {
		return err
	}
	if err := writeSimJSON(sum, summaryOf(res)); err != nil {
		sum.Close()
		return err
	}
	return sum.Close()
}
