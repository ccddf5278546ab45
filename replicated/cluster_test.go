package replicated_test

import (
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// settled reports whether the cluster has converged as seen by store: no
// evaluation ready to run, every node of a connected client ready, every
// alloc the server wants running is running on a ready node, every
// stopped one finished.
func (c *cluster) settled(s *server, clients []*client) bool {
	now := c.clk.Now()
	evals, err := s.store.Evals(nil)
	must.NoError(c.t, err)
	for _, e := range evals {
		if e.Status == structs.EvalStatusPending && !e.WaitUntil.After(now) {
			return false
		}
	}
	ready := map[string]bool{}
	for _, cl := range clients {
		n, err := s.store.NodeByID(nil, cl.node.ID)
		must.NoError(c.t, err)
		if n == nil || (!cl.cut.Load() && n.Status != structs.NodeStatusReady) {
			return false
		}
		ready[n.ID] = n.Status == structs.NodeStatusReady
	}
	it, err := s.store.Allocs(nil)
	must.NoError(c.t, err)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*structs.Allocation)
		if !ready[a.NodeID] {
			continue
		}
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus != structs.AllocClientStatusRunning {
			return false
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun && !structs.ClientTerminalStatus(a.ClientStatus) {
			return false
		}
	}
	return true
}

// converge runs client rounds and the leader's worker, a second of fake
// time apart, until the cluster settles.
func (c *cluster) converge(clients []*client) {
	c.t.Helper()
	for i := 0; i < 60; i++ {
		c.round(clients, nil)
		l := c.leader()
		if l == nil {
			c.waitLeader()
			continue
		}
		l.processEvals()
		c.round(clients, nil)
		l.processEvals()
		c.barrier()
		if c.settled(l, clients) {
			return
		}
		c.clk.Advance(time.Second)
	}
	c.t.Fatalf("cluster did not converge")
}

func registerJobs(t *testing.T, s *server, n, count int) []*structs.Job {
	t.Helper()
	var jobs []*structs.Job
	for i := 0; i < n; i++ {
		job := testutil.Job(testutil.WithCount(count))
		job.ID, job.Name = testutil.JobName(i), testutil.JobName(i)
		eval := &structs.Evaluation{ID: "eval-reg-" + job.ID, Namespace: job.Namespace, JobID: job.ID, Type: job.Type,
			TriggeredBy: structs.EvalTriggerJobRegister, Status: structs.EvalStatusPending}
		// Through a follower: the write is forwarded to the leader.
		_, _, err := s.rep.ApplyCommand(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: eval})
		must.NoError(t, err)
		jobs = append(jobs, job)
	}
	return jobs
}

// TestCluster_LeaderKilledMidReconnectStorm: 30 nodes run 20 jobs of 3
// allocs; half the nodes are cut off past their TTL (disconnected,
// replacements placed), then all come back at once, and the leader is
// killed while their heartbeats and alloc updates are in flight. A new
// leader is elected, tracks every node that is not down with the failover
// TTL, and the cluster converges with every invariant holding.
func TestCluster_LeaderKilledMidReconnectStorm(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitLeader()
	// The invariant checker sees every command in log order, as applied
	// by a server that survives. Which server is killed depends on where
	// leadership is at that moment, so every server gets its own checker.
	type observed struct {
		mu      sync.Mutex // protects checker: the sink and the test both use it
		checker *testutil.Checker
	}
	checkers := map[*server]*observed{}
	for _, s := range c.servers {
		o := &observed{checker: testutil.NewChecker()}
		checkers[s] = o
		store := s.store
		store.SetCommandSink(func(index uint64, typ structs.MessageType, payload []byte) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.checker.ObserveCommand(index, typ, payload, store)
		})
	}

	clients := newClients(30)
	c.converge(clients)
	jobs := registerJobs(t, c.servers[0], 20, 3)
	c.converge(clients)
	first := c.leader() // elections may happen any time: the test follows them
	must.NotNil(t, first)
	must.Eq(t, 30, first.hb.Tracker().Len())

	// Cut half the nodes off until the leader has marked them all
	// disconnected (or down: a node with no alloc that may reconnect).
	cut := clients[:15]
	for _, cl := range cut {
		cl.cut.Store(true)
	}
	disconnected := func() bool {
		for _, cl := range cut {
			n, err := first.store.NodeByID(nil, cl.node.ID)
			must.NoError(t, err)
			if n.Status == structs.NodeStatusReady {
				return false
			}
		}
		return true
	}
	// About 30 s of fake time normally; a leadership change on a busy
	// machine re-arms every node with the failover TTL, so allow for two.
	for i := 0; i < 150 && !disconnected(); i++ {
		c.round(clients, nil)
		c.clk.Advance(5 * time.Second) // expiries write through raft here
	}
	must.True(t, disconnected())
	first = c.leader()
	must.NotNil(t, first)
	first.processEvals() // allocs unknown, replacements placed
	c.round(clients, nil)
	c.barrier()
	unknown := 0
	it, err := first.store.Allocs(nil)
	must.NoError(t, err)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if raw.(*structs.Allocation).ClientStatus == structs.AllocClientStatusUnknown {
			unknown++
		}
	}
	must.Positive(t, unknown)

	// Heal everyone at once and kill the leader in the middle of the
	// reconnect storm.
	for _, cl := range cut {
		cl.cut.Store(false)
	}
	var once sync.Once
	c.round(clients, func(done int) {
		if done == 10 {
			once.Do(func() { c.kill(first) })
		}
	})
	ev := c.waitLeader()
	must.NotEq(t, first, ev.s)
	// The old leader is no longer leading: whatever a heartbeat that raced
	// the shutdown left in its tracker never acts (checked at the end).
	must.False(t, first.hb.IsLeader())
	writesAtKill := first.statusWrites.Load()
	armed := 0
	for _, n := range ev.nodes {
		if n.Status == structs.NodeStatusDown {
			continue
		}
		must.Eq(t, ev.at.Add(testHeartbeat.FailoverHeartbeatTTL), ev.deadlines[n.ID],
			must.Sprintf("node %s (%s) not re-armed with the failover TTL", n.ID, n.Status))
		armed++
	}
	must.MapLen(t, armed, ev.deadlines) // down nodes are not tracked
	must.Greater(t, 15, armed)          // the 15 ready nodes and the disconnected ones

	c.converge(clients)
	c.clk.Advance(testHeartbeat.FailoverHeartbeatTTL) // past every TTL the old leader knew
	c.converge(clients)
	c.barrier()
	must.Eq(t, writesAtKill, first.statusWrites.Load())

	// The invariants, on a survivor's store and its log.
	var survivors []*server
	for _, s := range c.servers {
		if s != first {
			survivors = append(survivors, s)
		}
	}
	must.SliceLen(t, 2, survivors)
	observer, follower := survivors[0], survivors[1]
	o := checkers[observer]
	o.mu.Lock()
	o.checker.CheckStep()
	must.NoError(t, o.checker.CheckQuiescent(observer.store))
	must.SliceEmpty(t, o.checker.Violations(), must.Sprintf("%v", o.checker.Violations()))
	must.Positive(t, o.checker.Checks)
	o.mu.Unlock()

	// And spelled out: exactly Count live allocs per group, none unknown,
	// and the storm really reconnected allocs (unknown, then running).
	reconnected := 0
	for _, job := range jobs {
		allocs, err := observer.store.AllocsByJob(nil, job.Namespace, job.ID)
		must.NoError(t, err)
		live := map[string]int{}
		for _, a := range allocs {
			must.NotEq(t, structs.AllocClientStatusUnknown, a.ClientStatus)
			if a.DesiredStatus == structs.AllocDesiredStatusRun {
				must.Eq(t, structs.AllocClientStatusRunning, a.ClientStatus)
				live[a.Name]++
			}
			if n := len(a.AllocStates); n >= 2 && a.AllocStates[n-2].Value == structs.AllocClientStatusUnknown {
				reconnected++
			}
		}
		must.MapLen(t, 3, live)
		for name, n := range live {
			must.Eq(t, 1, n, must.Sprintf("%s has %d live allocs", name, n))
		}
	}
	must.Positive(t, reconnected)

	// Both survivors hold the same state.
	h1, err := observer.store.StateHash()
	must.NoError(t, err)
	h2, err := follower.store.StateHash()
	must.NoError(t, err)
	must.Eq(t, h1, h2)
}
