package replicated

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/structs"
)

// The first byte of a connection to a TCPNetwork says what it carries.
const (
	muxRaft    byte = 'R' // raft's own RPCs
	muxForward byte = 'F' // forwarded writes and client calls
)

// tcpDialTimeout bounds dialing the leader to forward.
const tcpDialTimeout = 5 * time.Second

// TCPNetwork is one server's port for the cluster: raft's TCP transport
// and the forwarding RPC, told apart by the connection's first byte, so a
// member needs one address (--raft-bind).
type TCPNetwork struct {
	ln        net.Listener
	advertise net.Addr
	logger    hclog.Logger
	trans     *raft.NetworkTransport
	raftConns chan net.Conn
	rpc       *rpc.Server

	// mu protects peer, clients and closed.
	mu      sync.Mutex
	peer    Peer
	clients map[raft.ServerAddress]*rpc.Client
	closed  bool
	done    chan struct{}
}

// NewTCPNetwork listens on bind (advertise, if not nil, is the address
// the other members dial) and starts raft's transport on it.
func NewTCPNetwork(bind string, advertise net.Addr, logger hclog.Logger) (*TCPNetwork, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("replicated: listen %s: %w", bind, err)
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	n := &TCPNetwork{
		ln: ln, advertise: advertise, logger: logger.Named("raft-net"),
		raftConns: make(chan net.Conn), rpc: rpc.NewServer(),
		clients: map[raft.ServerAddress]*rpc.Client{}, done: make(chan struct{}),
	}
	if err := n.rpc.RegisterName("Forward", &forwardService{n: n}); err != nil {
		ln.Close()
		return nil, err
	}
	n.trans = raft.NewNetworkTransportWithLogger(streamLayer{n}, 3, 10*time.Second, logger.Named("raft-transport"))
	go n.accept()
	return n, nil
}

// Transport returns raft's transport over this port.
func (n *TCPNetwork) Transport() raft.Transport { return n.trans }

// Addr is the address other members reach this one at.
func (n *TCPNetwork) Addr() net.Addr { return n.advertise }

// Serve makes p (Replica.LocalPeer) what forwarded calls reach here.
func (n *TCPNetwork) Serve(p Peer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peer = p
}

// Router returns the router that forwards to other members over TCP.
func (n *TCPNetwork) Router() Router { return tcpRouter{n} }

// Close stops listening and drops the forwarding connections; raft's
// transport closes with it.
func (n *TCPNetwork) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.done)
	clients := n.clients
	n.clients = map[raft.ServerAddress]*rpc.Client{}
	n.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
	return n.trans.Close()
}

func (n *TCPNetwork) accept() {
	for {
		conn, err := n.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				n.logger.Error("accept failed", "error", err)
			}
			return
		}
		go n.route(conn)
	}
}

// route reads the first byte and hands the connection to raft or to the
// forwarding service.
func (n *TCPNetwork) route(conn net.Conn) {
	var b [1]byte
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	switch b[0] {
	case muxRaft:
		select {
		case n.raftConns <- conn:
		case <-n.done:
			conn.Close()
		}
	case muxForward:
		n.rpc.ServeCodec(codec.MsgpackSpecRpc.ServerCodec(conn, structs.MsgpackHandle))
	default:
		n.logger.Warn("unknown connection type; closing", "remote", conn.RemoteAddr().String(), "byte", b[0])
		conn.Close()
	}
}

// acceptRaft hands raft the next raft connection.
func (n *TCPNetwork) acceptRaft() (net.Conn, error) {
	select {
	case c := <-n.raftConns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func dialMux(addr string, timeout time.Duration, kind byte) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{kind}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// streamLayer is raft's view of the port: the raft connections only.
// Closing it (raft's transport does, on Close) closes the listener.
type streamLayer struct{ n *TCPNetwork }

func (s streamLayer) Accept() (net.Conn, error) { return s.n.acceptRaft() }
func (s streamLayer) Close() error              { return s.n.ln.Close() }
func (s streamLayer) Addr() net.Addr            { return s.n.advertise }
func (s streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialMux(string(addr), timeout, muxRaft)
}

// client returns the forwarding client for addr, dialing it if needed.
func (n *TCPNetwork) client(addr raft.ServerAddress) (*rpc.Client, error) {
	n.mu.Lock()
	c, ok := n.clients[addr]
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	if ok {
		return c, nil
	}
	conn, err := dialMux(string(addr), tcpDialTimeout, muxForward)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, addr, err)
	}
	c = rpc.NewClientWithCodec(codec.MsgpackSpecRpc.ClientCodec(conn, structs.MsgpackHandle))
	n.mu.Lock()
	if old, ok := n.clients[addr]; ok {
		n.mu.Unlock()
		c.Close()
		return old, nil
	}
	n.clients[addr] = c
	n.mu.Unlock()
	return c, nil
}

// drop forgets a client whose connection failed.
func (n *TCPNetwork) drop(addr raft.ServerAddress, c *rpc.Client) {
	n.mu.Lock()
	if n.clients[addr] == c {
		delete(n.clients, addr)
	}
	n.mu.Unlock()
	c.Close()
}
