package testutil

import (
	"errors"
	"fmt"
	"net"

	"github.com/rejoinhq/rejoin/rpc"
)

// tcpConns is how many TCP connections the simulated clients share over
// loopback: node i calls through connection i mod tcpConns. Identity is in
// each request (node ID and secret), not the connection, so sharing is
// sound; one connection per node would need two descriptors per node.
const tcpConns = 64

// simTCP is the real RPC transport between the simulated clients and the
// server: an rpc.Server on 127.0.0.1 in front of the simulation's rpc.Node,
// and a pool of rpc.Clients. Calls stay synchronous within the one
// simulation goroutine (the simulated network decides when a request
// arrives; the TCP round trip happens then), so time is still the fake
// clock's and a seed still replays exactly.
type simTCP struct {
	srv     *rpc.Server
	ln      net.Listener
	served  chan error
	clients []*rpc.Client
}

// startTCP serves node on a loopback port and dials conns client pools.
func startTCP(node rpc.NodeAPI, conns int) (*simTCP, error) {
	srv, err := rpc.NewServer(node, rpc.ServerConfig{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testutil: listen on loopback: %w", err)
	}
	t := &simTCP{srv: srv, ln: ln, served: make(chan error, 1)}
	go func() { t.served <- srv.Serve(ln) }()
	for range max(1, conns) {
		c, err := rpc.NewClient(rpc.ClientConfig{Addr: ln.Addr().String(), Conns: 1})
		if err != nil {
			_ = t.close()
			return nil, err
		}
		t.clients = append(t.clients, c)
	}
	return t, nil
}

// client is the connection node i calls through.
func (t *simTCP) client(i int) rpc.NodeAPI { return t.clients[i%len(t.clients)] }

// close closes the clients, then the server, and waits for Serve to end.
func (t *simTCP) close() error {
	var errs []error
	for _, c := range t.clients {
		errs = append(errs, c.Close())
	}
	errs = append(errs, t.srv.Close())
	errs = append(errs, <-t.served)
	return errors.Join(errs...)
}
