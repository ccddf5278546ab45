package rejoin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/cmdlog"
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

// persister keeps a server's state in its data directory.
type persister struct {
	dir    string
	clock  clock.Clock
	logger hclog.Logger
	log    commandLog // nil when no command log is kept
	lock   *os.File   // holds the directory's lock; nil where none is taken
}

// commandLog records applied commands (see cmdlog) for crash recovery.
type commandLog interface {
	close() error
}

// openDataDir restores the state kept in dir (snapshot, then the command
// log past it) and starts recording into it. A snapshot or log that does
// not verify stops the server from starting rather than losing state
// silently.
func openDataDir(dir string, logger hclog.Logger, c clock.Clock) (*state.Store, *persister, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("rejoin: data dir: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, nil, err
	}
	p := &persister{dir: dir, clock: c, logger: logger.Named("persist"), lock: lock}
	store, err := p.restore(logger)
	if err != nil {
		p.unlock()
		return nil, nil, err
	}
	return store, p, nil
}

// restore reads the snapshot, then the command log past it, and starts
// recording into the log.
func (p *persister) restore(logger hclog.Logger) (*state.Store, error) {
	path := filepath.Join(p.dir, SnapshotFile)
	store, meta, err := state.OpenSnapshotFile(path, logger)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if store, err = state.NewStore(logger); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("rejoin: restore %s: %w", path, err)
	default:
		p.logger.Info("restored snapshot", "path", path, "index", meta.Index, "created_at", meta.CreatedAt)
	}
	if err := p.openLog(store); err != nil {
		return nil, err
	}
	return store, nil
}

// close writes the final snapshot, closes the log, deletes the log
// segments the snapshot covers and releases the directory.
func (p *persister) close(store *state.Store) error {
	defer p.unlock()
	path := filepath.Join(p.dir, SnapshotFile)
	meta, err := store.SaveSnapshotFile(path, p.clock.Now())
	if err != nil {
		p.closeLog()
		return fmt.Errorf("rejoin: final snapshot: %w", err)
	}
	p.logger.Info("wrote snapshot", "path", path, "index", meta.Index)
	store.SetCommandSink(nil)
	if p.log != nil {
		if err := p.log.close(); err != nil {
			return fmt.Errorf("rejoin: close command log: %w", err)
		}
		// Without this the log would hold every command since the
		// directory was created, and each start would read all of it. A
		// failure loses nothing (the segments stay and are skipped on
		// replay), so it is logged rather than failing the stop.
		dir := filepath.Join(p.dir, LogDir)
		removed, err := cmdlog.Compact(dir, meta.Index)
		if err != nil {
			p.logger.Warn("could not compact the command log", "dir", dir, "index", meta.Index, "error", err)
		} else if len(removed) > 0 {
			p.logger.Info("compacted command log", "dir", dir, "index", meta.Index, "segments_removed", len(removed))
		}
	}
	return nil
}

// abandon closes the log without a snapshot and releases the directory.
func (p *persister) abandon() {
	p.closeLog()
	p.unlock()
}

func (p *persister) closeLog() {
	if p.log != nil {
		_ = p.log.close()
	}
}

// unlock releases the directory's lock (closing the file drops it).
func (p *persister) unlock() {
	if p.lock != nil {
		_ = p.lock.Close()
		p.lock = nil
	}
}
