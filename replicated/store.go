package replicated

import (
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Store is the local store whose writes go through raft: reads (and
// blocking queries) are the local state, ApplyCommand is the Replica's.
// It satisfies every store interface the components write through
// (rpc.Store, rpc.JobStore, reconcile.WorkerStore, heartbeat.Writer).
type Store struct {
	*state.Store
	r          *Replica
	leaderOnly bool
}

// WriteStore returns the local store with replicated writes that a
// follower forwards to the leader: for writes a client asked for (the
// client and job endpoints), which are valid whichever server took them.
func (r *Replica) WriteStore() *Store { return &Store{Store: r.cfg.Store, r: r} }

// LeaderStore returns the local store with writes that only the leader's
// own log takes: for the components that act only as leader (heartbeat
// expiries, the eval worker). A write they decided on while leading but
// issue after losing leadership fails with *NotLeaderError instead of
// being forwarded to the new leader, which decides on its own: otherwise
// two servers would act on the same evaluation or expiry.
func (r *Replica) LeaderStore() *Store { return &Store{Store: r.cfg.Store, r: r, leaderOnly: true} }

// ApplyCommand writes through raft; see Replica.ApplyCommand and
// LeaderStore.
func (s *Store) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if s.leaderOnly {
		return s.r.ApplyLeader(t, req)
	}
	return s.r.ApplyCommand(t, req)
}
