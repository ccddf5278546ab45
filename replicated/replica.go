package replicated

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Replica is one server's share of the replicated store: the raft
// instance, the FSM over the local store, the write path and the
// leadership hooks.
type Replica struct {
	cfg    Config
	raft   *raft.Raft
	fsm    *state.FSM
	logger hclog.Logger

	// leading is true between OnLeader and OnFollower: this server is
	// leader and has applied every earlier entry.
	leading atomic.Bool

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
	monitorDone  chan struct{}
}

// New starts raft over cfg.Store. A server with no raft state must be
// bootstrapped (Bootstrap) by one member, or join a cluster that adds it.
func New(cfg Config) (*Replica, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	rc := raft.DefaultConfig()
	if cfg.Raft != nil {
		c := *cfg.Raft
		rc = &c
	}
	notify := make(chan bool, 8)
	rc.LocalID, rc.NotifyCh = cfg.ID, notify
	rc.Logger = cfg.Logger.Named("raft")
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("%w: replicated: %w", structs.ErrInvalidRequest, err)
	}
	r := &Replica{
		cfg:         cfg,
		fsm:         state.NewFSM(cfg.Store, state.FSMConfig{Logger: cfg.Logger, Clock: cfg.Clock}),
		logger:      cfg.Logger.Named("replica").With("id", string(cfg.ID)),
		shutdownCh:  make(chan struct{}),
		monitorDone: make(chan struct{}),
	}
	ra, err := raft.NewRaft(rc, r.fsm, cfg.LogStore, cfg.StableStore, cfg.SnapshotStore, cfg.Transport)
	if err != nil {
		return nil, fmt.Errorf("replicated: start raft: %w", err)
	}
	r.raft = ra
	go r.monitor(notify)
	return r, nil
}

// Bootstrap makes servers the cluster's first configuration. Every member
// may call it with the same list; a server that already has raft state
// (a restart) ignores it.
func (r *Replica) Bootstrap(servers []raft.Server) error {
	err := r.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		r.logger.Debug("raft state exists; not bootstrapping")
		return nil
	}
	if err != nil {
		return fmt.Errorf("replicated: bootstrap: %w", err)
	}
	return nil
}

// Raft returns the raft instance (stats, snapshots, membership changes).
func (r *Replica) Raft() *raft.Raft { return r.raft }

// FSM returns the FSM raft applies to.
func (r *Replica) FSM() *state.FSM { return r.fsm }

// Store returns the local store: reads see what this server has applied,
// which on a follower may lag the leader.
func (r *Replica) Store() *state.Store { return r.cfg.Store }

// ID returns this server's raft ID.
func (r *Replica) ID() raft.ServerID { return r.cfg.ID }

// IsLeader reports whether this server is the leader and has applied
// every entry of earlier terms (between OnLeader and OnFollower).
func (r *Replica) IsLeader() bool { return r.leading.Load() }

// Leader returns the current leader's address and ID as this server knows
// them ("" when none).
func (r *Replica) Leader() (raft.ServerAddress, raft.ServerID) { return r.raft.LeaderWithID() }

// ApplyCommand is the write path every component uses: on the leader it
// appends the command to the raft log and waits until it is committed and
// applied, returning the entry's index and the store's result or
// rejection; on a follower it forwards the command to the leader. It
// retries only when no leader could take the write (an election is in
// progress), never a write that may have been committed.
func (r *Replica) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	entry, err := state.EncodeLogEntry(t, req)
	if err != nil {
		return 0, nil, err
	}
	return r.applyEntry(entry)
}

// ApplyLeader applies a command only if this server is the leader and
// has taken up leadership (IsLeader); it never forwards and never
// retries. See LeaderStore.
func (r *Replica) ApplyLeader(t structs.MessageType, req any) (uint64, any, error) {
	if !r.IsLeader() {
		addr, id := r.raft.LeaderWithID()
		return 0, nil, &NotLeaderError{Leader: addr, LeaderID: id}
	}
	entry, err := state.EncodeLogEntry(t, req)
	if err != nil {
		return 0, nil, err
	}
	return r.ApplyLocal(entry, r.cfg.ApplyTimeout)
}

// applyEntry applies or forwards one encoded entry.
func (r *Replica) applyEntry(entry []byte) (uint64, any, error) {
	deadline := time.Now().Add(r.cfg.ApplyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		idx, res, err := r.tryApply(entry, deadline)
		if !errors.Is(err, ErrNotLeader) || time.Now().Add(wait).After(deadline) {
			return idx, res, err
		}
		select {
		case <-r.shutdownCh:
			return 0, nil, raft.ErrRaftShutdown
		case <-time.After(wait): // an election takes a few heartbeat timeouts
		}
	}
}

func (r *Replica) tryApply(entry []byte, deadline time.Time) (uint64, any, error) {
	if r.raft.State() == raft.Leader {
		return r.ApplyLocal(entry, time.Until(deadline))
	}
	addr, id := r.raft.LeaderWithID()
	if addr == "" || r.cfg.Router == nil {
		return 0, nil, &NotLeaderError{Leader: addr, LeaderID: id}
	}
	peer, err := r.cfg.Router.Peer(addr)
	if err != nil {
		return 0, nil, fmt.Errorf("replicated: reach leader %s: %w", addr, err)
	}
	idx, res, err := peer.Apply(entry)
	if idx > 0 {
		// Read-your-writes: a caller here (the job endpoints) reads the
		// local store right after its write.
		r.waitApplied(idx, deadline)
	}
	return idx, res, err
}

// waitApplied waits until the local store has applied index, or the
// deadline.
func (r *Replica) waitApplied(index uint64, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, _ = r.cfg.Store.BlockingQuery(ctx, index-1, func(_ memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		return snap.LatestIndex(), nil
	})
}

// ApplyLocal appends one encoded entry (state.EncodeLogEntry) to the log
// if this server is the leader, and waits for it to be applied. It is
// what a forwarded write runs on the leader.
func (r *Replica) ApplyLocal(entry []byte, timeout time.Duration) (uint64, any, error) {
	f := r.raft.Apply(entry, timeout)
	if err := r.await(f); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			addr, id := r.raft.LeaderWithID()
			return 0, nil, &NotLeaderError{Leader: addr, LeaderID: id}
		case errors.Is(err, raft.ErrLeadershipLost):
			return 0, nil, fmt.Errorf("replicated: %w", ErrLeadershipLost)
		}
		return 0, nil, fmt.Errorf("replicated: raft apply: %w", err)
	}
	resp, ok := f.Response().(*state.FSMResponse)
	if !ok {
		return 0, nil, fmt.Errorf("replicated: unexpected FSM response %T", f.Response())
	}
	return f.Index(), resp.Result, resp.Err
}

// Shutdown stops raft and the leadership monitor; OnFollower runs if this
// server was leading. It is safe to call more than once.
func (r *Replica) Shutdown() error {
	var err error
	r.shutdownOnce.Do(func() {
		err = r.raft.Shutdown().Error()
		close(r.shutdownCh)
		<-r.monitorDone
	})
	return err
}

// await waits for a raft future, or for this replica's shutdown. raft
// never answers a future whose entry was committed but not yet applied
// when raft shut down (it sits in the FSM's queue), so waiting on the
// future alone could block a caller forever. After a shutdown the waiting
// goroutine stays parked on such a future; there is at most one per call
// in flight at the time.
func (r *Replica) await(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-r.shutdownCh:
		select { // prefer an answer that is already there
		case err := <-done:
			return err
		default:
			return raft.ErrRaftShutdown
		}
	}
}
