package replicated_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/replicated"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// waitFor bounds every wait on raft: elections take a few hundred
// milliseconds with testRaftConfig, and -race slows everything.
const waitFor = 20 * time.Second

// testHeartbeat: server-side TTLs in fake time.
var testHeartbeat = heartbeat.Config{
	MinHeartbeatTTL:      10 * time.Second,
	HeartbeatGrace:       10 * time.Second,
	FailoverHeartbeatTTL: 5 * time.Minute,
	BreakerDisabled:      true,
}

func testRaftConfig() *raft.Config {
	c := replicated.FastRaftConfig()
	// Short enough that a killed leader is replaced within a second, long
	// enough that a -race run on two busy cores does not depose a healthy
	// leader (at 100/100/50 ms CI saw leadership move mid-test).
	c.HeartbeatTimeout = 250 * time.Millisecond
	c.ElectionTimeout = 250 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.SnapshotThreshold = 1 << 20 // tests take snapshots themselves
	c.SnapshotInterval = time.Hour
	return c
}

// event is a leadership change of one server.
type event struct {
	s      *server
	leader bool
	// For leader events: when tracking started (fake time), the nodes the
	// store held, and the deadline each got, read under the gate so no
	// heartbeat could move one in between.
	at        time.Time
	nodes     []*structs.Node
	deadlines map[string]time.Time
}

// cluster is an in-process raft cluster of full servers (store, raft,
// heartbeat tracker, client endpoints, eval worker) on one fake clock for
// server time; raft itself runs on real time.
type cluster struct {
	t       testing.TB
	clk     *testutil.FakeClock
	net     *replicated.InmemNetwork
	servers []*server
	events  chan event
	// gate: client calls hold it for reading, leadership changes for
	// writing, so a test sees a new leader's timers exactly as armed.
	gate sync.RWMutex
}

type server struct {
	c     *cluster
	id    raft.ServerID
	addr  raft.ServerAddress
	store *state.Store
	rep   *replicated.Replica
	hb    *heartbeat.Heartbeater
	node  *rpc.Node
	api   rpc.NodeAPI // forwarding: what clients call
	dead  atomic.Bool
	// isolated: partitioned by the test; clients do not pick it.
	isolated atomic.Bool

	// statusWrites counts NodeUpdateStatus commands this server's
	// heartbeat tracker issued.
	statusWrites atomic.Int64

	// mu protects worker and stop.
	mu     sync.Mutex
	worker *reconcile.Worker
	stop   func()
}

// countingWriter counts the node-status writes of a heartbeat tracker.
type countingWriter struct {
	heartbeat.Writer
	n *atomic.Int64
}

func (w countingWriter) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if t == structs.NodeUpdateStatusRequestType {
		w.n.Add(1)
	}
	return w.Writer.ApplyCommand(t, req)
}

// spreadPlacer places a job's allocs from a per-job starting node, so
// many small jobs cover the nodes evenly.
type spreadPlacer struct{}

func (spreadPlacer) SelectNode(_ reconcile.Placement, job *structs.Job, nodes []*structs.Node, live map[string]int, exclude string) (string, float64) {
	if len(nodes) == 0 {
		return "", 0
	}
	h := fnv.New32a()
	h.Write([]byte(job.ID))
	start := int(h.Sum32() % uint32(len(nodes)))
	best, bestLive := "", 0
	for i := range nodes {
		n := nodes[(start+i)%len(nodes)]
		if n == nil || n.ID == exclude || !n.Eligible() {
			continue
		}
		if best == "" || live[n.ID] < bestLive {
			best, bestLive = n.ID, live[n.ID]
		}
	}
	return best, 1 / float64(1+bestLive)
}

func newCluster(t testing.TB, n int, rc *raft.Config) *cluster {
	t.Helper()
	c := &cluster{
		t:      t,
		clk:    testutil.NewFakeClock(testutil.SimEpoch),
		net:    replicated.NewInmemNetwork(),
		events: make(chan event, 1024), // leadership may flap on a loaded machine
	}
	if rc == nil {
		rc = testRaftConfig()
	}
	var servers []raft.Server
	for i := 0; i < n; i++ {
		s := c.newServer(t, i, rc)
		c.servers = append(c.servers, s)
		servers = append(servers, raft.Server{ID: s.id, Address: s.addr})
	}
	must.NoError(t, c.servers[0].rep.Bootstrap(servers))
	t.Cleanup(c.shutdown)
	return c
}

func (c *cluster) newServer(t testing.TB, i int, rc *raft.Config) *server {
	t.Helper()
	store, err := state.NewStore(nil)
	must.NoError(t, err)
	s := &server{c: c, id: raft.ServerID(fmt.Sprintf("s%d", i)), addr: raft.ServerAddress(fmt.Sprintf("inmem-s%d", i)), store: store}
	logger := hclog.NewNullLogger()
	s.rep, err = replicated.New(replicated.Config{
		ID: s.id, Store: store, Transport: c.net.Transport(s.addr), Raft: rc,
		Router: c.net.Router(s.addr), ApplyTimeout: 5 * time.Second, Clock: c.clk, Logger: logger,
		OnLeader: s.onLeader, OnFollower: s.onFollower,
	})
	must.NoError(t, err)
	ws := s.rep.WriteStore()
	hbCfg := testHeartbeat
	hbCfg.Clock, hbCfg.Logger = c.clk, logger
	s.hb, err = heartbeat.New(hbCfg, ws, countingWriter{s.rep.LeaderStore(), &s.statusWrites})
	must.NoError(t, err)
	s.node, err = rpc.NewNode(rpc.Config{Store: ws, Heartbeats: s.hb, Clock: c.clk, Logger: logger, BatchWindow: -1})
	must.NoError(t, err)
	s.api = s.rep.NodeAPI(s.node)
	c.net.Register(s.addr, s.rep.LocalPeer(s.node))
	return s
}

// onLeader is what a server does on gaining leadership: track every node
// that is not down with the failover TTL, and start a fresh eval worker.
func (s *server) onLeader() {
	s.c.gate.Lock()
	nodes, err := s.store.Nodes(nil)
	if err != nil {
		s.c.gate.Unlock()
		panic(err)
	}
	s.hb.Initialize(nodes)
	at := s.c.clk.Now()
	deadlines := map[string]time.Time{}
	for _, n := range nodes {
		if d, ok := s.hb.Tracker().Deadline(n.ID); ok {
			deadlines[n.ID] = d
		}
	}
	s.c.gate.Unlock()

	w := reconcile.NewWorker(reconcile.WorkerConfig{Store: s.rep.LeaderStore(), Clock: s.c.clk, Placer: spreadPlacer{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	s.mu.Lock()
	s.worker, s.stop = w, func() { cancel(); <-done }
	s.mu.Unlock()
	s.c.events <- event{s: s, leader: true, at: at, nodes: nodes, deadlines: deadlines}
}

// onFollower gives leadership up: no timers, no worker.
func (s *server) onFollower() {
	s.hb.Clear()
	s.mu.Lock()
	stop := s.stop
	s.worker, s.stop = nil, nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.c.events <- event{s: s, leader: false}
}

// processEvals runs the leader's worker once, synchronously: a test's way
// to wait for the evaluations written so far.
func (s *server) processEvals() {
	s.mu.Lock()
	w := s.worker
	s.mu.Unlock()
	if w != nil {
		_, _ = w.ProcessReady()
	}
}

// waitLeader waits for a leader event from a live server and returns it.
func (c *cluster) waitLeader() event {
	c.t.Helper()
	return c.waitEvent(func(e event) bool { return e.leader && !e.s.dead.Load() })
}

func (c *cluster) waitEvent(match func(event) bool) event {
	c.t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case e := <-c.events:
			if match(e) {
				return e
			}
		case <-timeout:
			c.t.Fatalf("no matching leadership event within %s", waitFor)
		}
	}
}

// leader returns the live server that is leading, if any.
func (c *cluster) leader() *server {
	for _, s := range c.servers {
		if !s.dead.Load() && s.rep.IsLeader() {
			return s
		}
	}
	return nil
}

// isolate cuts s off the network; heal brings it back.
func (c *cluster) isolate(s *server) {
	s.isolated.Store(true)
	c.net.Partition(s.addr)
}

func (c *cluster) heal(s *server) {
	c.net.Heal(s.addr)
	s.isolated.Store(false)
}

// kill stops a server for good: cut off, then raft shut down.
func (c *cluster) kill(s *server) {
	s.dead.Store(true)
	c.net.Partition(s.addr)
	if err := s.rep.Shutdown(); err != nil {
		c.t.Errorf("shutdown %s: %v", s.id, err) // may run off the test goroutine
	}
	s.node.Close()
}

func (c *cluster) shutdown() {
	// Keep draining leadership events while servers stop, so no
	// leadership callback blocks a raft shutdown on a full channel.
	stopDrain, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-c.events:
			case <-stopDrain:
				return
			}
		}
	}()
	defer func() { close(stopDrain); <-drained }()
	for _, s := range c.servers {
		if !s.dead.Load() {
			s.dead.Store(true)
			_ = s.rep.Shutdown()
			s.node.Close()
		}
	}
}

// waitIndex waits until store has applied index.
func waitIndex(t testing.TB, store *state.Store, index uint64) {
	t.Helper()
	must.NoError(t, awaitIndex(store, index))
}

// awaitIndex is waitIndex for any goroutine.
func awaitIndex(store *state.Store, index uint64) error {
	if index == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got, err := store.BlockingQuery(ctx, index-1, func(_ memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		return snap.LatestIndex(), nil
	})
	if err == nil && got < index {
		err = fmt.Errorf("store stuck at index %d, want %d", got, index)
	}
	return err
}

// barrier makes every live server apply everything committed so far and
// returns that index. It rides out a leadership change.
func (c *cluster) barrier() uint64 {
	c.t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		l := c.leader()
		if l == nil {
			c.waitLeader()
			continue
		}
		if err := l.rep.Raft().Barrier(waitFor).Error(); err != nil {
			continue
		}
		idx := l.store.LatestIndex()
		for _, s := range c.servers {
			if !s.dead.Load() && !s.isolated.Load() {
				waitIndex(c.t, s.store, idx)
			}
		}
		return idx
	}
	c.t.Fatalf("no barrier")
	return 0
}

func timeAfter() <-chan time.Time { return time.After(waitFor) }
