package state

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// ErrEmptyLogEntry: a raft log entry with no type byte. It matches
// structs.ErrDecode.
var ErrEmptyLogEntry = fmt.Errorf("%w: empty raft log entry", structs.ErrDecode)

// EncodeLogEntry renders command t with payload req as one raft log entry:
// the type byte, then req's msgpack encoding. FSM.Apply reads it back.
func EncodeLogEntry(t structs.MessageType, req any) ([]byte, error) {
	payload, err := structs.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", structs.ErrInvalidRequest, err)
	}
	buf := make([]byte, 0, 1+len(payload))
	return append(append(buf, byte(t)), payload...), nil
}

// FSMResponse is what FSM.Apply returns for every entry; raft hands it to
// the leader's caller through ApplyFuture.Response. Result is the store's
// result (*structs.AllocUpdateResult for client updates, else nil); Err is
// the command's rejection, identical on every server since every server
// applies the same entries to the same state.
type FSMResponse struct {
	Result any
	Err    error
}

// FSMConfig configures an FSM.
type FSMConfig struct {
	Logger hclog.Logger // nil: discard
	// Clock stamps a snapshot taken before any command was applied; after
	// one, a snapshot's CreatedAt is the leader's append time of the last
	// applied entry, so every server's snapshot of the same index carries
	// the same time. Nil: clock.System.
	Clock clock.Clock
}

// FSM runs a Store as hashicorp/raft's finite-state machine: every raft
// log entry is one command applied at the entry's index. Raft calls Apply,
// Snapshot and Restore from one goroutine; the store's readers keep
// reading the whole time.
type FSM struct {
	store  *Store
	clock  clock.Clock
	logger hclog.Logger

	// mu protects appendedAt: written by Apply, read by Snapshot (raft
	// calls them from one goroutine, but tests and tools may not).
	mu         sync.Mutex
	appendedAt time.Time

	restores atomic.Uint64
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns the FSM over store.
func NewFSM(store *Store, cfg FSMConfig) *FSM {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	return &FSM{store: store, clock: cfg.Clock, logger: cfg.Logger.Named("fsm")}
}

// Store returns the store the FSM applies to.
func (f *FSM) Store() *Store { return f.store }

// Restores counts the snapshots restored into the store (at start-up from
// a local snapshot, or installed by the leader on a lagging follower).
func (f *FSM) Restores() uint64 { return f.restores.Load() }

// Apply applies one log entry (a type byte and the command's msgpack
// payload) at the entry's index and returns an *FSMResponse. A command
// the store rejects changes nothing and is reported in the response,
// never by a panic: raft has already committed it, so every server
// rejects it alike. Entries of an unknown type carrying
// structs.IgnoreUnknownTypeFlag are skipped.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return &FSMResponse{} // raft passes only commands; be safe anyway
	}
	f.mu.Lock()
	f.appendedAt = l.AppendedAt
	f.mu.Unlock()
	if len(l.Data) == 0 {
		f.logger.Error("empty log entry", "index", l.Index)
		return &FSMResponse{Err: fmt.Errorf("state: apply at %d: %w", l.Index, ErrEmptyLogEntry)}
	}
	t := structs.MessageType(l.Data[0])
	res, err := f.store.Apply(l.Index, t, l.Data[1:])
	if err != nil && !errors.Is(err, structs.ErrStaleIndex) {
		// A rejection is routine (a client raced its node's status); a
		// stale index is raft replaying what a restored snapshot holds.
		f.logger.Debug("command rejected", "index", l.Index, "type", t.String(), "error", err)
	}
	return &FSMResponse{Result: res, Err: err}
}

// Snapshot returns the store's state as of the last applied entry. It
// costs O(1); the snapshot is written later by Persist, while commands go
// on being applied.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	at := f.appendedAt
	f.mu.Unlock()
	if at.IsZero() {
		at = f.clock.Now()
	}
	return &fsmSnapshot{snap: f.store.Snapshot(), createdAt: at.UTC()}, nil
}

// Restore replaces the store's contents with the snapshot rc holds, only
// if the whole snapshot verifies (see Store.Restore); on error the store
// is unchanged.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	meta, err := f.store.Restore(rc)
	if err != nil {
		return fmt.Errorf("state: fsm restore: %w", err)
	}
	f.restores.Add(1)
	f.logger.Info("restored raft snapshot", "index", meta.Index)
	return nil
}

// fsmSnapshot writes one read view in the snapshot file format.
type fsmSnapshot struct {
	snap      *Snapshot
	createdAt time.Time
}

// Persist writes the snapshot to sink and closes it, or cancels it on
// error so raft never keeps a partial snapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.snap.Persist(sink, s.createdAt); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("state: fsm snapshot: %w", err)
	}
	return sink.Close()
}

// Release frees nothing: the view is an immutable memdb tree the garbage
// collector reclaims.
func (s *fsmSnapshot) Release() {}
