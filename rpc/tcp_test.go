package rpc

import (
	"errors"
	"io"
	"net"
	"net/rpc"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
	// closeFirst closes the first n accepted connections at once.
	closeFirst atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.accepted.Add(1)
		if l.closeFirst.Add(-1) >= 0 {
			c.Close()
			continue
		}
		return c, nil
	}
}

type tcpEnv struct {
	srv  *Server
	ln   *countingListener
	logs *syncBuffer
	addr string
}

// startServer serves api on a loopback port until the test ends.
func startServer(t testing.TB, api NodeAPI, mod func(*ServerConfig)) *tcpEnv {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	env := &tcpEnv{ln: &countingListener{Listener: raw}, logs: &syncBuffer{}, addr: raw.Addr().String()}
	cfg := ServerConfig{Logger: hclog.New(&hclog.LoggerOptions{Output: env.logs, Level: hclog.Debug})}
	if mod != nil {
		mod(&cfg)
	}
	env.srv, err = NewServer(api, cfg)
	must.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- env.srv.Serve(env.ln) }()
	t.Cleanup(func() {
		must.NoError(t, env.srv.Close())
		must.NoError(t, <-served)
	})
	return env
}

func newTestClient(t testing.TB, addr string, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{Addr: addr, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	must.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTCP_EndpointsRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	f.addJob("web")
	env := startServer(t, f.node, nil)
	c := newTestClient(t, env.addr, nil)

	var nr structs.NodeUpdateResponse
	must.NoError(t, c.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1", SecretID: secretOf("n1")}}, &nr))
	must.Eq(t, testTTL, nr.HeartbeatTTL)
	f.place(testAlloc("a1", "web", "n1", structs.AllocClientStatusPending))

	// Before the heartbeat: refused, and the error crosses the wire typed.
	var ur structs.AllocUpdateResponse
	err := c.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)), &ur)
	must.ErrorIs(t, err, structs.ErrNodeNotReady)
	var re *RemoteError
	must.True(t, errors.As(err, &re))
	must.Eq(t, "node-not-ready", re.Code)
	must.StrContains(t, err.Error(), `node "n1" is not ready (status "initializing")`)

	must.NoError(t, c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}, &nr))
	must.Len(t, 1, nr.EvalIDs)
	must.NoError(t, c.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning), report("zz", structs.AllocClientStatusRunning)), &ur))
	must.Eq(t, f.store.LatestIndex(), ur.Index)
	must.Eq(t, []*structs.AllocUpdateSkip{{AllocID: "zz", NodeID: "n1", Reason: structs.SkipUnknownAlloc}}, ur.Skipped)
	must.Eq(t, structs.TaskState{State: "running"}, *f.alloc("a1").TaskStates["app"])

	var ar structs.NodeClientAllocsResponse
	must.NoError(t, c.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1")}, &ar))
	must.MapContainsKey(t, ar.Allocs, "a1")

	for _, tc := range []struct {
		err  error
		want error
	}{
		{c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: "bad", Status: structs.NodeStatusReady}, &nr), structs.ErrPermissionDenied},
		{c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusInit}, &nr), structs.ErrInvalidTransition},
		{c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: "zzz"}, &nr), structs.ErrInvalidNodeStatus},
		{c.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusLost)), &ur), structs.ErrInvalidRequest},
		{c.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "nx", SecretID: "s"}, &ar), structs.ErrUnknownNode},
	} {
		must.ErrorIs(t, tc.err, tc.want)
	}
	must.Eq(t, int64(1), env.ln.accepted.Load()) // one connection, reused
}

// apiFunc adapts functions to NodeAPI for transport tests.
type apiFunc struct {
	status func(*structs.NodeUpdateStatusRequest, *structs.NodeUpdateResponse) error
	calls  atomic.Int64
}

func (a *apiFunc) Register(*structs.NodeRegisterRequest, *structs.NodeUpdateResponse) error {
	panic("boom")
}
func (a *apiFunc) UpdateStatus(r *structs.NodeUpdateStatusRequest, w *structs.NodeUpdateResponse) error {
	a.calls.Add(1)
	return a.status(r, w)
}
func (a *apiFunc) UpdateAlloc(*structs.AllocUpdateRequest, *structs.AllocUpdateResponse) error {
	a.calls.Add(1)
	return errors.New("plain error")
}
func (a *apiFunc) GetClientAllocs(*structs.NodeSpecificRequest, *structs.NodeClientAllocsResponse) error {
	return nil
}

func TestTCP_RetriesTransientNotRejections(t *testing.T) {
	api := &apiFunc{status: func(r *structs.NodeUpdateStatusRequest, w *structs.NodeUpdateResponse) error {
		if r.Status != structs.NodeStatusReady {
			return &NodeNotReadyError{NodeID: r.NodeID, Status: r.Status}
		}
		w.HeartbeatTTL = time.Second
		return nil
	}}
	env := startServer(t, api, nil)
	env.ln.closeFirst.Store(2) // the first two connections die at once
	c := newTestClient(t, env.addr, nil)

	var r structs.NodeUpdateResponse
	must.NoError(t, c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n", Status: structs.NodeStatusReady}, &r))
	must.Eq(t, time.Second, r.HeartbeatTTL)
	must.Eq(t, int64(3), env.ln.accepted.Load())
	must.Eq(t, int64(1), api.calls.Load())

	// A rejection is final: one call on the server, no reconnect.
	err := c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n", Status: structs.NodeStatusDown}, &r)
	must.ErrorIs(t, err, structs.ErrNodeNotReady)
	must.Eq(t, int64(2), api.calls.Load())
	must.Eq(t, int64(3), env.ln.accepted.Load())

	// An error without a code is internal; a handler panic too, and the
	// server survives it.
	must.ErrorIs(t, c.UpdateAlloc(&structs.AllocUpdateRequest{}, &structs.AllocUpdateResponse{}), ErrInternal)
	must.ErrorIs(t, c.Register(&structs.NodeRegisterRequest{}, &r), ErrInternal)
	must.StrContains(t, env.logs.String(), "handler panicked")
	must.NoError(t, c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n", Status: structs.NodeStatusReady}, &r))
}

func TestTCP_RetriesAreBounded(t *testing.T) {
	env := startServer(t, &apiFunc{}, nil)
	env.ln.closeFirst.Store(100)
	c := newTestClient(t, env.addr, func(c *ClientConfig) { c.MaxAttempts = 4 })
	err := c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n"}, &structs.NodeUpdateResponse{})
	must.Error(t, err)
	must.True(t, transient(err))
	must.Eq(t, int64(4), env.ln.accepted.Load())
}

func TestTCP_CallTimeout(t *testing.T) {
	release := make(chan struct{})
	api := &apiFunc{status: func(_ *structs.NodeUpdateStatusRequest, w *structs.NodeUpdateResponse) error {
		<-release
		w.HeartbeatTTL = time.Hour // written after the caller gave up: must not reach it
		return nil
	}}
	env := startServer(t, api, nil)
	c := newTestClient(t, env.addr, func(c *ClientConfig) { c.Timeout = 20 * time.Millisecond })
	var r structs.NodeUpdateResponse
	err := c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n"}, &r)
	must.ErrorIs(t, err, ErrCallTimeout)
	must.Eq(t, int64(1), api.calls.Load()) // not retried
	close(release)
	// The late answer went to a private reply, not r.
	must.Eq(t, structs.NodeUpdateResponse{}, r)
}

// An oversized request closes that connection with a logged error; other
// connections and later calls are unaffected.
func TestTCP_OversizedMessageClosesOnlyThatConnection(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.addJob("web")
	f.place(testAlloc("a1", "web", "n1", structs.AllocClientStatusPending))
	env := startServer(t, f.node, func(c *ServerConfig) { c.MaxMessageSize = 4 << 10 })
	good := newTestClient(t, env.addr, nil)
	var r structs.NodeUpdateResponse
	must.NoError(t, good.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}, &r))

	before := f.dump()
	big := report("a1", structs.AllocClientStatusRunning)
	big.ClientDescription = strings.Repeat("x", 8<<10)
	bad := newTestClient(t, env.addr, func(c *ClientConfig) { c.MaxAttempts = 1 })
	err := bad.UpdateAlloc(update("n1", secretOf("n1"), big), &structs.AllocUpdateResponse{})
	must.Error(t, err)
	must.True(t, transient(err)) // the connection was closed under it
	must.Eq(t, before, f.dump())
	must.StrContains(t, env.logs.String(), "exceeds the 4096 byte limit")

	// The other connection still works, and so does the bad client's next
	// (small) call on a fresh connection.
	must.NoError(t, good.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}, &r))
	var ur structs.AllocUpdateResponse
	must.NoError(t, bad.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)), &ur))
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a1").ClientStatus)
}

// rawExchange writes b on a fresh connection and reads until the server
// closes it.
func rawExchange(t *testing.T, addr string, b []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	must.NoError(t, err)
	defer conn.Close()
	_, _ = conn.Write(b) // the server may close before reading it all
	out, _ := io.ReadAll(conn)
	return out
}

func TestTCP_HostileFramesCloseTheConnection(t *testing.T) {
	f := newFixture(t, nil)
	env := startServer(t, f.node, nil)
	before := f.dump()
	cases := map[string][]byte{
		// [0, 1, "Node.UpdateAlloc", [str32 of 4 GiB]]: refused on the
		// header, before any of it is read or allocated.
		"declared 4 GiB string": {0x94, 0x00, 0x01, 0xb0, 'N', 'o', 'd', 'e', '.', 'U', 'p', 'd', 'a', 't', 'e', 'A', 'l', 'l', 'o', 'c', 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"declared 4 G values":   {0x94, 0x00, 0x01, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"never-used byte":       {0x94, 0x00, 0xc1},
		"not a request array":   {0x2a},
		"response type":         {0x94, 0x01, 0x01, 0xc0, 0xc0},
		"body of wrong type":    append([]byte{0x94, 0x00, 0x01, 0xb0}, append([]byte("Node.UpdateAlloc"), 0x91, 0x2a)...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			rawExchange(t, env.addr, b) // returns only once the server closed it
		})
	}
	must.Eq(t, before, f.dump())
	logs := env.logs.String()
	must.StrContains(t, logs, "exceeds the")
	must.StrContains(t, logs, "invalid msgpack byte 0xc1")
	must.StrContains(t, logs, "bad message; closing connection")

	// The server still serves.
	c := newTestClient(t, env.addr, nil)
	must.ErrorIs(t, c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n9", SecretID: "s", Status: structs.NodeStatusReady}, &structs.NodeUpdateResponse{}),
		structs.ErrUnknownNode)
}

func TestTCP_UnknownMethodKeepsConnection(t *testing.T) {
	f := newFixture(t, nil)
	env := startServer(t, f.node, nil)
	c := newTestClient(t, env.addr, nil)
	rc, err := c.slots[1%len(c.slots)].get(c)
	must.NoError(t, err)
	err = rc.Call("Node.Nope", &structs.NodeSpecificRequest{}, &structs.GenericResponse{})
	var se rpc.ServerError
	must.True(t, errors.As(err, &se))
	must.ErrorIs(t, c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n9", SecretID: "s", Status: structs.NodeStatusReady}, &structs.NodeUpdateResponse{}),
		structs.ErrUnknownNode)
	must.Eq(t, int64(1), env.ln.accepted.Load())
}

func TestTCP_ConcurrentCallsShareConnections(t *testing.T) {
	api := &apiFunc{status: func(r *structs.NodeUpdateStatusRequest, w *structs.NodeUpdateResponse) error {
		w.Index = uint64(len(r.NodeID))
		return nil
	}}
	env := startServer(t, api, nil)
	c := newTestClient(t, env.addr, func(c *ClientConfig) { c.Conns = 2 })
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strings.Repeat("n", i+1)
			var r structs.NodeUpdateResponse
			if err := c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: id}, &r); err != nil || r.Index != uint64(i+1) {
				t.Errorf("call %d: %v %d", i, err, r.Index)
			}
		}()
	}
	wg.Wait()
	must.LessEq(t, int64(2), env.ln.accepted.Load())
}
