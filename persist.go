package rejoin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/cmdlog"
	"github.com/rejoinhq/rejoin/metrics"
	"github.com/rejoinhq/rejoin/state"
)

// Files in the data directory.
const (
	// SnapshotFile is the state snapshot Stop writes.
	SnapshotFile = "state.snap"
	// LogDir holds the command log: every command applied since the
	// snapshot.
	LogDir = "log"
	// LockFile is locked by the server using the directory, so that a second
	// server on the same directory refuses to start instead of interleaving
	// its writes (Unix only).
	LockFile = "LOCK"
)

// ErrDataDirLocked: another server (in this process or another) has the
// data directory open.
var ErrDataDirLocked = errors.New("rejoin: data directory in use by another server")

// LockDataDir takes the lock a server takes on its data directory (see
// WithDataDir) until release is called, creating dir if needed. It is for
// an embedder that keeps other files there before New runs, such as raft's
// stores with WithRaft, where New does not lock: taking it first turns a
// second server on the same directory into ErrDataDirLocked instead of a
// wait on a database lock.
func LockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("rejoin: data dir: %w", err)
	}
	f, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	return func() {
		if f != nil {
			_ = f.Close()
		}
	}, nil
}

// persister keeps a server's state in its data directory.
type persister struct {
	dir         string
	clock       clock.Clock
	logger      hclog.Logger
	store       *state.Store
	log         commandLog // the command log, from restore on
	release     func()     // drops the directory's lock; nil once dropped
	interval    time.Duration
	segmentSize int64
	rec         *metrics.Recorder // nil: no metrics

	// snapMu serialises snapshot writes (periodic and final) with the log
	// compaction that follows each, and protects saved.
	snapMu sync.Mutex
	saved  uint64 // index of the snapshot file on disk (0: none)
	// mu protects timer and stopped. The timer is stopped outside it, so a
	// firing that re-arms never waits for a Stop waiting for it.
	mu      sync.Mutex
	timer   clock.Timer
	stopped bool
}

// commandLog records applied commands (see cmdlog) for crash recovery.
type commandLog interface {
	// compact deletes the segments the log moved past whose commands are
	// all at or below upTo.
	compact(upTo uint64) ([]string, error)
	close() error
}

// dataDirConfig is what New passes to openDataDir.
type dataDirConfig struct {
	dir    string
	logger hclog.Logger
	clock  clock.Clock
	// snapshotInterval: how often a snapshot is written while the server
	// runs, so a crash replays at most that much log; <= 0: only at Stop.
	snapshotInterval time.Duration
	segmentSize      int64 // command log segment size; 0 = cmdlog's default
	rec              *metrics.Recorder
}

// openDataDir restores the state kept in cfg.dir (snapshot, then the
// command log past it) and starts recording into it. A snapshot or log that
// does not verify stops the server from starting rather than losing state
// silently.
func openDataDir(cfg dataDirConfig) (*state.Store, *persister, error) {
	release, err := LockDataDir(cfg.dir)
	if err != nil {
		return nil, nil, err
	}
	p := &persister{dir: cfg.dir, clock: cfg.clock, logger: cfg.logger.Named("persist"), release: release,
		interval: cfg.snapshotInterval, segmentSize: cfg.segmentSize, rec: cfg.rec}
	if err := p.restore(cfg.logger); err != nil {
		p.unlock()
		return nil, nil, err
	}
	p.arm()
	return p.store, p, nil
}

// restore reads the snapshot, then the command log past it, and starts
// recording into the log.
func (p *persister) restore(logger hclog.Logger) error {
	path := filepath.Join(p.dir, SnapshotFile)
	store, meta, err := state.OpenSnapshotFile(path, logger)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if store, err = state.NewStore(logger); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("rejoin: restore %s: %w", path, err)
	default:
		p.logger.Info("restored snapshot", "path", path, "index", meta.Index, "created_at", meta.CreatedAt)
		p.saved = meta.Index
	}
	p.store = store
	return p.openLog()
}

// arm schedules the next periodic snapshot.
func (p *persister) arm() {
	if p.interval <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.timer = p.clock.AfterFunc(p.interval, p.periodic)
	}
}

// periodic writes a snapshot and deletes the log it covers, bounding both
// the log's size and what a crash recovery replays.
func (p *persister) periodic() {
	p.snapMu.Lock()
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped || p.saved == p.store.LatestIndex() {
		// Stop (or abandon) ran while this firing waited, or nothing was
		// applied since the last snapshot: rewriting it would change nothing.
		p.snapMu.Unlock()
		p.arm()
		return
	}
	start := time.Now()
	meta, err := p.save()
	removed := 0
	if err == nil {
		removed = p.compactOpen(meta.Index)
	}
	p.snapMu.Unlock()
	p.rec.Snapshot(time.Since(start), err, removed)
	if err != nil {
		p.logger.Error("periodic snapshot failed; the command log keeps every command since the last one", "error", err)
	}
	p.arm()
}

// stopPeriodic ends periodic snapshots. A firing already past its timer
// may still be running: the caller takes snapMu to wait for it.
func (p *persister) stopPeriodic() {
	p.mu.Lock()
	p.stopped = true
	t := p.timer
	p.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// save writes the snapshot file; the caller holds snapMu.
func (p *persister) save() (state.SnapshotMeta, error) {
	path := filepath.Join(p.dir, SnapshotFile)
	meta, err := p.store.SaveSnapshotFile(path, p.clock.Now())
	if err != nil {
		return meta, fmt.Errorf("rejoin: snapshot: %w", err)
	}
	p.logger.Info("wrote snapshot", "path", path, "index", meta.Index)
	p.saved = meta.Index
	return meta, nil
}

// compactOpen deletes the segments of the open log that a snapshot at
// index covers. A failure loses nothing (the segments stay and are skipped
// on replay), so it is logged.
func (p *persister) compactOpen(index uint64) int {
	removed, err := p.log.compact(index)
	p.logCompaction(removed, err, index)
	return len(removed)
}

func (p *persister) logCompaction(removed []string, err error, index uint64) {
	dir := filepath.Join(p.dir, LogDir)
	switch {
	case err != nil:
		p.logger.Warn("could not compact the command log", "dir", dir, "index", index, "error", err)
	case len(removed) > 0:
		p.logger.Info("compacted command log", "dir", dir, "index", index, "segments_removed", len(removed))
	}
}

// close writes the final snapshot, closes the log, deletes the log
// segments the snapshot covers and releases the directory.
func (p *persister) close() error {
	defer p.unlock()
	p.stopPeriodic()
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	start := time.Now()
	meta, err := p.save()
	if err != nil {
		p.rec.Snapshot(time.Since(start), err, 0)
		_ = p.log.close()
		return fmt.Errorf("rejoin: final %w", err)
	}
	p.store.SetCommandSink(nil)
	if err := p.log.close(); err != nil {
		return fmt.Errorf("rejoin: close command log: %w", err)
	}
	// With the log closed, its last segment can go too. Without this the
	// directory would keep every command since it was created, and each
	// start would read all of it.
	removed, err := cmdlog.Compact(filepath.Join(p.dir, LogDir), meta.Index)
	p.logCompaction(removed, err, meta.Index)
	p.rec.Snapshot(time.Since(start), nil, len(removed))
	return nil
}

// abandon closes the log without a snapshot and releases the directory.
func (p *persister) abandon() {
	p.stopPeriodic()
	p.snapMu.Lock()
	defer p.snapMu.Unlock()
	_ = p.log.close()
	p.unlock()
}

// unlock releases the directory's lock.
func (p *persister) unlock() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
}
