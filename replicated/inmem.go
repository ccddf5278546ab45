package replicated

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// InmemNetwork connects servers in one process: raft's in-memory
// transport between them and direct calls for forwarding, with
// partitions for tests. Safe for concurrent use.
type InmemNetwork struct {
	// mu protects trans, peers and cut.
	mu    sync.Mutex
	trans map[raft.ServerAddress]*raft.InmemTransport
	peers map[raft.ServerAddress]Peer
	cut   map[raft.ServerAddress]bool
}

// ErrUnreachable: the server is partitioned away or not registered.
var ErrUnreachable = errors.New("replicated: server unreachable")

// NewInmemNetwork returns an empty network.
func NewInmemNetwork() *InmemNetwork {
	return &InmemNetwork{
		trans: map[raft.ServerAddress]*raft.InmemTransport{},
		peers: map[raft.ServerAddress]Peer{},
		cut:   map[raft.ServerAddress]bool{},
	}
}

// Transport returns a new raft transport at addr, connected both ways to
// every transport made before.
func (n *InmemNetwork) Transport(addr raft.ServerAddress) raft.Transport {
	_, t := raft.NewInmemTransportWithTimeout(addr, 500*time.Millisecond)
	n.mu.Lock()
	defer n.mu.Unlock()
	for a, o := range n.trans {
		t.Connect(a, o)
		o.Connect(addr, t)
	}
	n.trans[addr] = t
	return t
}

// Register makes p what followers reach at addr.
func (n *InmemNetwork) Register(addr raft.ServerAddress, p Peer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers[addr] = p
}

// Router returns the router the server at from uses: it fails while
// either end is partitioned.
func (n *InmemNetwork) Router(from raft.ServerAddress) Router { return inmemRouter{n, from} }

type inmemRouter struct {
	n    *InmemNetwork
	from raft.ServerAddress
}

func (r inmemRouter) Peer(addr raft.ServerAddress) (Peer, error) {
	r.n.mu.Lock()
	defer r.n.mu.Unlock()
	p, ok := r.n.peers[addr]
	if !ok || r.n.cut[addr] || r.n.cut[r.from] {
		return nil, fmt.Errorf("%w: %s from %s", ErrUnreachable, addr, r.from)
	}
	return p, nil
}

// Partition cuts addr off from every other server, both ways.
func (n *InmemNetwork) Partition(addr raft.ServerAddress) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[addr] = true
	t := n.trans[addr]
	for a, o := range n.trans {
		if a != addr {
			t.Disconnect(a)
			o.Disconnect(addr)
		}
	}
}

// Heal reconnects addr to every server that is not partitioned itself.
func (n *InmemNetwork) Heal(addr raft.ServerAddress) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, addr)
	t := n.trans[addr]
	for a, o := range n.trans {
		if a != addr && !n.cut[a] {
			t.Connect(a, o)
			o.Connect(addr, t)
		}
	}
}
