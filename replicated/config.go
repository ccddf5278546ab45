package replicated

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Defaults.
const (
	// DefaultApplyTimeout bounds how long a write waits to be committed
	// (and, on a follower, for a leader to forward it to).
	DefaultApplyTimeout = 30 * time.Second
	// DefaultBarrierTimeout bounds each attempt of the barrier a new leader
	// issues before it acts on the state.
	DefaultBarrierTimeout = time.Minute
)

// Config configures a Replica. ID, Store and Transport are required.
type Config struct {
	// ID names this server in the raft configuration.
	ID raft.ServerID
	// Store is the state the FSM applies to. It must be fresh or hold
	// exactly what the raft log and snapshots below describe: raft
	// restores the latest snapshot into it and replays the log past it.
	Store *state.Store
	// Transport carries raft's RPCs (InmemNetwork.Transport,
	// NewTCPTransport).
	Transport raft.Transport
	// LogStore, StableStore and SnapshotStore keep raft's state; nil: in
	// memory (raft.NewInmemStore, raft.NewInmemSnapshotStore), lost on
	// exit.
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
	// Raft tunes raft (timeouts, snapshot thresholds); nil:
	// raft.DefaultConfig(). LocalID, NotifyCh and Logger are set by New.
	Raft *raft.Config
	// Router reaches the leader from a follower; nil: a follower's writes
	// and client calls fail with *NotLeaderError naming the leader.
	Router Router
	// ApplyTimeout bounds one write; default DefaultApplyTimeout.
	ApplyTimeout time.Duration
	// BarrierTimeout bounds a new leader's barrier attempt; default
	// DefaultBarrierTimeout.
	BarrierTimeout time.Duration
	// OnLeader runs when this server becomes leader, after every entry of
	// earlier terms has been applied; OnFollower when it stops being
	// leader (or shuts down). They run one at a time, OnFollower only
	// after OnLeader returned, never under a lock of the Replica; they
	// should return promptly (raft waits for leadership notifications).
	OnLeader   func()
	OnFollower func()
	// Clock stamps snapshots taken before the first command (see
	// state.FSMConfig); nil: clock.System. Raft itself runs on real time.
	Clock  clock.Clock
	Logger hclog.Logger
}

func (c *Config) setDefaults() error {
	switch {
	case c.ID == "":
		return fmt.Errorf("%w: replicated: Config.ID is required", structs.ErrInvalidRequest)
	case c.Store == nil:
		return fmt.Errorf("%w: replicated: Config.Store is required", structs.ErrInvalidRequest)
	case c.Transport == nil:
		return fmt.Errorf("%w: replicated: Config.Transport is required", structs.ErrInvalidRequest)
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.LogStore == nil || c.StableStore == nil {
		if c.LogStore != nil || c.StableStore != nil {
			return errors.New("replicated: set both LogStore and StableStore, or neither")
		}
		mem := raft.NewInmemStore()
		c.LogStore, c.StableStore = mem, mem
	}
	if c.SnapshotStore == nil {
		c.SnapshotStore = raft.NewInmemSnapshotStore()
	}
	if c.ApplyTimeout <= 0 {
		c.ApplyTimeout = DefaultApplyTimeout
	}
	if c.BarrierTimeout <= 0 {
		c.BarrierTimeout = DefaultBarrierTimeout
	}
	if c.OnLeader == nil {
		c.OnLeader = func() {}
	}
	if c.OnFollower == nil {
		c.OnFollower = func() {}
	}
	return nil
}

// FastRaftConfig is raft tuned for one machine: in-process clusters in
// tests and benchmarks, and loopback clusters. Elections take tens of
// milliseconds instead of seconds.
func FastRaftConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	return c
}
