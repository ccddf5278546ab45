package state

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// CommandSink receives every command the store applied, in index order.
type CommandSink func(index uint64, t structs.MessageType, payload []byte)

// Store is the in-memory database. It has a single writer at a time; readers
// work on memdb's immutable trees and never wait for it.
type Store struct {
	logger hclog.Logger
	db     *memdb.MemDB

	// writeMu serialises commands: the stale-index check, the write
	// transaction and its commit, and the sink call form one step, so indexes
	// are strictly increasing and the sink sees commands in index order. It
	// also protects sink. Readers never take it.
	writeMu sync.Mutex
	sink    CommandSink
}

// NewStore returns an empty store. A nil logger discards logs.
func NewStore(logger hclog.Logger) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("state: schema: %w", err)
	}
	return &Store{logger: logger.Named("state"), db: db}, nil
}

// SetCommandSink sets the function called after each successful apply (nil
// removes it). It runs under the write lock, in index order: it must be fast
// and must not call back into the store's write methods.
func (s *Store) SetCommandSink(sink func(index uint64, t structs.MessageType, payload []byte)) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.sink = sink
}

// Apply decodes payload as command t, validates it and applies it at index in
// one write transaction. On any error nothing changes. See STATE_API.md.
func (s *Store) Apply(index uint64, t structs.MessageType, payload []byte) (any, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.applyLocked(index, t, payload, nil)
}

// ApplyCommand applies req as command t at the next index and returns the
// index used. The state it produces is the one Apply produces from req's
// encoding, which is what the sink receives.
//
// A client update (the hot path: thousands of allocs per second) is applied
// from req itself, copying what it keeps, instead of being encoded and
// decoded again; it is encoded only when a sink wants it.
func (s *Store) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	borrowed := borrowedCommand(t, req)
	var payload []byte
	if !borrowed {
		var err error
		if payload, err = structs.Marshal(req); err != nil {
			return 0, nil, fmt.Errorf("%w: %w", structs.ErrInvalidRequest, err)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if borrowed && s.sink != nil {
		var err error
		if payload, err = structs.Marshal(req); err != nil {
			return 0, nil, fmt.Errorf("%w: %w", structs.ErrInvalidRequest, err)
		}
	}
	index := s.read().LatestIndex() + 1
	var direct any
	if borrowed {
		direct = req
	}
	res, err := s.applyLocked(index, t, payload, direct)
	if err != nil {
		return 0, nil, err
	}
	return index, res, nil
}

// applyLocked runs one command; the caller holds writeMu. borrowed, when not
// nil, is the caller's request, applied as is (see borrowedCommand);
// otherwise payload is decoded.
func (s *Store) applyLocked(index uint64, t structs.MessageType, payload []byte, borrowed any) (any, error) {
	tx := &writeTxn{Txn: s.db.Txn(true), index: index, cmd: t, borrowed: borrowed != nil}
	// Abort after Commit is a no-op; on every error path it drops the
	// transaction so nothing, not even a table index, changes.
	defer tx.Abort()

	if latest := (reader{tx.Txn}).LatestIndex(); index <= latest {
		return nil, &StaleIndexError{Index: index, Latest: latest}
	}
	var res any
	req, err := borrowed, error(nil)
	if req == nil {
		req, err = structs.DecodeCommand(t, payload)
	}
	switch {
	case err != nil && t&structs.IgnoreUnknownTypeFlag != 0 && structs.NewCommandPayload(t) == nil:
		s.logger.Warn("skipping unknown command type", "type", uint8(t), "index", index)
	case err != nil:
		return nil, fmt.Errorf("state: apply %s at %d: %w", t, index, err)
	default:
		if res, err = tx.apply(req); err != nil {
			return nil, fmt.Errorf("state: apply %s at %d: %w", t, index, err)
		}
	}
	if err := tx.commitIndexes(); err != nil {
		return nil, fmt.Errorf("state: apply %s at %d: %w", t, index, err)
	}
	tx.Commit()
	if s.sink != nil {
		s.sink(index, t, payload)
	}
	return res, nil
}

// LatestIndex returns the index of the last applied command.
func (s *Store) LatestIndex() uint64 { return s.read().LatestIndex() }

// Index returns the last index at which table ("nodes", "allocs", "jobs",
// "evals") changed.
func (s *Store) Index(table string) uint64 { return s.read().Index(table) }

// Snapshot returns a consistent read view of the current state. It costs
// O(1) and never blocks or is blocked by writers.
func (s *Store) Snapshot() *Snapshot { return &Snapshot{s.read()} }

// read opens a read transaction on the current state.
func (s *Store) read() reader { return reader{s.db.Txn(false)} }

// Snapshot is a read view of the store at one index. Later writes never show
// in it. Objects it returns are shared: Copy before changing them.
type Snapshot struct {
	reader
}
