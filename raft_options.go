package rejoin

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/replicated"
	"github.com/rejoinhq/rejoin/rpc"
)

// RaftConfig makes the server one member of a replicated cluster (see
// package replicated). Transport is required.
type RaftConfig struct {
	// ID names this member in the raft configuration.
	ID string
	// Transport carries raft (replicated.InmemNetwork.Transport,
	// replicated.TCPNetwork.Transport).
	Transport raft.Transport
	// Router reaches the leader from a follower, for forwarded writes and
	// client calls; nil: a follower answers *replicated.NotLeaderError.
	Router replicated.Router
	// Serve, if set, is given what other members' forwarded calls reach
	// on this server (replicated.TCPNetwork.Serve,
	// InmemNetwork.Register).
	Serve func(replicated.Peer)
	// LogStore, StableStore, SnapshotStore: nil means in memory.
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
	// Raft tunes raft; nil: raft.DefaultConfig().
	Raft *raft.Config
	// Bootstrap, if not empty, is the cluster's first configuration; a
	// member with raft state ignores it.
	Bootstrap []raft.Server
}

// WithRaft replicates the state through raft: writes go through the
// leader's log; only the leader tracks heartbeats (every node that is not
// down gets the failover TTL when it takes over) and runs the eval worker;
// a follower forwards client calls to the leader. WithDataDir's snapshot
// and command log are not used in this mode: raft's stores are the
// record. Start joins leadership elections; Stop leaves the cluster's
// raft for good.
func WithRaft(c RaftConfig) Option { return func(o *options) { o.raft = &c } }

// raftMode is the replicated part of a Server.
type raftMode struct {
	replica *replicated.Replica

	// mu serialises taking and giving up the lead, and protects leading,
	// active and cancel.
	mu      sync.Mutex
	leading bool // raft says this server leads
	active  bool // heartbeats tracked and the worker running
	cancel  context.CancelFunc
	done    chan struct{}
}

// newRaftMode starts raft over s.store.
func (s *Server) newRaftMode() error {
	c := s.opts.raft
	rm := &raftMode{}
	rep, err := replicated.New(replicated.Config{
		ID: raft.ServerID(c.ID), Store: s.store, Transport: c.Transport, Router: c.Router,
		LogStore: c.LogStore, StableStore: c.StableStore, SnapshotStore: c.SnapshotStore,
		Raft: c.Raft, Clock: s.clock, Logger: s.opts.logger,
		OnLeader:   func() { s.raftLead(true) },
		OnFollower: func() { s.raftLead(false) },
	})
	if err != nil {
		return fmt.Errorf("rejoin: raft: %w", err)
	}
	rm.replica = rep
	s.raft = rm
	if len(c.Bootstrap) > 0 {
		if err := rep.Bootstrap(c.Bootstrap); err != nil {
			_ = rep.Shutdown()
			return err
		}
	}
	return nil
}

// raftLead follows raft's leadership; the lead is taken only between
// Start and Stop.
func (s *Server) raftLead(leading bool) {
	s.mu.Lock()
	started := s.phase == phaseStarted
	s.mu.Unlock()
	rm := s.raft
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.leading = leading
	switch {
	case leading && started && !rm.active:
		nodes, err := s.store.Nodes(nil)
		if err != nil {
			s.logger.Error("read nodes on taking the lead", "error", err)
			return
		}
		s.hb.Initialize(nodes)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := s.worker.Run(ctx); err != nil {
				s.logger.Error("eval worker stopped", "error", err)
			}
		}()
		rm.active, rm.cancel, rm.done = true, cancel, done
		s.logger.Info("took the lead", "nodes", len(nodes), "index", s.store.LatestIndex())
	case !leading && rm.active:
		s.hb.Clear()
		s.hbt.forget()
		rm.cancel()
		<-rm.done
		rm.active = false
		s.logger.Info("gave up the lead")
	}
}

// startRaft is Start in raft mode: the lead is taken if raft already
// elected this server.
func (s *Server) startRaft() {
	rm := s.raft
	rm.mu.Lock()
	leading := rm.leading
	rm.mu.Unlock()
	if leading {
		s.raftLead(true)
	}
}

// Replica returns the raft member (nil without WithRaft).
func (s *Server) Replica() *replicated.Replica {
	if s.raft == nil {
		return nil
	}
	return s.raft.replica
}

// engineStore is what the components read and write through.
type engineStore interface {
	rpc.Store
	reconcile.WorkerStore
}

// clientStore is written to by the client and job endpoints: in raft mode
// a follower forwards these writes to the leader.
func (s *Server) clientStore() engineStore {
	if s.raft != nil {
		return s.raft.replica.WriteStore()
	}
	return s.store
}

// leaderStore is written to by what acts only as leader (heartbeat
// expiries, the worker): in raft mode only the leader's own log takes it.
func (s *Server) leaderStore() engineStore {
	if s.raft != nil {
		return s.raft.replica.LeaderStore()
	}
	return s.store
}

// forwardClients, in raft mode, offers the client endpoints to the other
// members and makes this server's endpoints forward to the leader.
func (s *Server) forwardClients() {
	if s.raft == nil {
		return
	}
	if serve := s.opts.raft.Serve; serve != nil {
		serve(s.raft.replica.LocalPeer(s.api))
	}
	s.api = s.raft.replica.NodeAPI(s.api)
}
