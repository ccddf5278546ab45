package rejoin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
)

// Files in the data directory.
const (
	// SnapshotFile is the state snapshot Stop writes.
	SnapshotFile = "state.snap"
	// LogDir holds the command log: every command applied since the
	// snapshot.
	LogDir = "log"
)

// persister keeps a server's state in its data directory.
type persister struct {
	dir    string
	clock  clock.Clock
	logger hclog.Logger
	log    commandLog // nil when no command log is kept
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
	p := &persister{dir: dir, clock: c, logger: logger.Named("persist")}
	path := filepath.Join(dir, SnapshotFile)
	store, meta, err := state.OpenSnapshotFile(path, logger)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if store, err = state.NewStore(logger); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, fmt.Errorf("rejoin: restore %s: %w", path, err)
	default:
		p.logger.Info("restored snapshot", "path", path, "index", meta.Index, "created_at", meta.CreatedAt)
	}
	if err := p.openLog(store); err != nil {
		return nil, nil, err
	}
	return store, p, nil
}

// close writes the final snapshot and closes the log.
func (p *persister) close(store *state.Store) error {
	path := filepath.Join(p.dir, SnapshotFile)
	meta, err := store.SaveSnapshotFile(path, p.clock.Now())
	if err != nil {
		p.abandon()
		return fmt.Errorf("rejoin: final snapshot: %w", err)
	}
	p.logger.Info("wrote snapshot", "path", path, "index", meta.Index)
	store.SetCommandSink(nil)
	if p.log != nil {
		if err := p.log.close(); err != nil {
			return fmt.Errorf("rejoin: close command log: %w", err)
		}
	}
	return nil
}

// abandon closes the log without a snapshot.
func (p *persister) abandon() {
	if p.log != nil {
		_ = p.log.close()
	}
}
