package replicated

import (
	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// Peer is the leader as a follower reaches it: its write path and its
// client endpoints.
type Peer interface {
	// Apply applies one encoded entry (state.EncodeLogEntry) on the
	// leader and returns its index and the store's result or rejection.
	// It fails with *NotLeaderError if that server is no longer leader.
	Apply(entry []byte) (uint64, any, error)
	// Node returns the leader's client endpoints.
	Node() rpc.NodeAPI
}

// Router finds the server at a raft address.
type Router interface {
	Peer(addr raft.ServerAddress) (Peer, error)
}

// LocalPeer is what this server offers to followers that forward to it:
// its raft log and its own (non-forwarding) client endpoints.
func (r *Replica) LocalPeer(node rpc.NodeAPI) Peer { return &localPeer{r: r, node: node} }

type localPeer struct {
	r    *Replica
	node rpc.NodeAPI
}

func (p *localPeer) Apply(entry []byte) (uint64, any, error) {
	return p.r.ApplyLocal(entry, p.r.cfg.ApplyTimeout)
}

func (p *localPeer) Node() rpc.NodeAPI { return p.node }

// NodeAPI wraps this server's client endpoints (local: an *rpc.Node over
// this Replica) so that any server takes any client: the leader serves
// the call, a follower forwards it to the leader, because heartbeat
// timers and the per-node ordering live on the leader only. A blocking
// GetClientAllocs that allows stale reads is served from the follower's
// own store. Serve this, not local, to clients.
func (r *Replica) NodeAPI(local rpc.NodeAPI) rpc.NodeAPI { return &forwardingNode{r: r, local: local} }

type forwardingNode struct {
	r     *Replica
	local rpc.NodeAPI
}

// target returns the endpoints that should serve a call now.
func (f *forwardingNode) target() (rpc.NodeAPI, error) {
	if f.r.raft.State() == raft.Leader {
		return f.local, nil
	}
	addr, id := f.r.raft.LeaderWithID()
	if addr == "" || f.r.cfg.Router == nil {
		return nil, &NotLeaderError{Leader: addr, LeaderID: id}
	}
	p, err := f.r.cfg.Router.Peer(addr)
	if err != nil {
		return nil, err
	}
	return p.Node(), nil
}

func (f *forwardingNode) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	api, err := f.target()
	if err != nil {
		return err
	}
	return api.Register(args, reply)
}

func (f *forwardingNode) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	api, err := f.target()
	if err != nil {
		return err
	}
	return api.UpdateStatus(args, reply)
}

func (f *forwardingNode) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) error {
	api, err := f.target()
	if err != nil {
		return err
	}
	return api.UpdateAlloc(args, reply)
}

func (f *forwardingNode) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	if args != nil && args.AllowStale {
		return f.local.GetClientAllocs(args, reply)
	}
	api, err := f.target()
	if err != nil {
		return err
	}
	return api.GetClientAllocs(args, reply)
}
