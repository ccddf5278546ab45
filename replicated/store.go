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
	r *Replica
}

// WriteStore returns the local store with replicated writes.
func (r *Replica) WriteStore() *Store { return &Store{Store: r.cfg.Store, r: r} }

// ApplyCommand writes through raft; see Replica.ApplyCommand.
func (s *Store) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	return s.r.ApplyCommand(t, req)
}
