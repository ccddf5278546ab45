package replicated_test

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// allReady requires every client's node to be ready in s's store.
func allReady(t *testing.T, s *server, clients []*client) {
	t.Helper()
	for _, cl := range clients {
		n, err := s.store.NodeByID(nil, cl.node.ID)
		must.NoError(t, err)
		must.NotNil(t, n)
		must.Eq(t, structs.NodeStatusReady, n.Status, must.Sprintf("node %s on %s", n.ID, s.id))
	}
}

// TestCluster_FollowerNeverChangesNodeStatus: a follower tracks no
// heartbeat and writes no node status, even cut off while time runs far
// past every TTL; a leader that is cut off steps down, drops its timers
// and writes nothing either (Nomad #3035, #3840), while the new leader
// keeps every heartbeating node ready.
func TestCluster_FollowerNeverChangesNodeStatus(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.waitLeader()
	clients := newClients(12)
	c.converge(clients)
	l := c.leader()
	must.NotNil(t, l)
	must.Eq(t, 12, l.hb.Tracker().Len())
	var f *server
	for _, s := range c.servers {
		if s != l {
			must.Eq(t, 0, s.hb.Tracker().Len())
			must.False(t, s.hb.IsLeader())
			f = s
		}
	}

	// A follower cut off for far longer than any TTL.
	c.isolate(f)
	for i := 0; i < 24; i++ { // 6 minutes, heartbeats well within the TTL
		c.round(clients, nil)
		c.clk.Advance(15 * time.Second)
	}
	c.barrier()
	allReady(t, l, clients)
	must.Eq(t, 0, f.hb.Tracker().Len())
	must.Eq(t, 0, f.statusWrites.Load())
	c.heal(f)
	c.converge(clients)
	c.barrier()
	allReady(t, f, clients)

	// The leader cut off: it steps down and lets go of every timer.
	l = c.leader()
	must.NotNil(t, l)
	writes := l.statusWrites.Load()
	c.isolate(l)
	var stepped, elected bool
	for !stepped || !elected {
		e := c.waitEvent(func(event) bool { return true })
		stepped = stepped || (e.s == l && !e.leader)
		elected = elected || (e.s != l && e.leader)
	}
	must.False(t, l.hb.IsLeader())
	must.Eq(t, 0, l.hb.Tracker().Len())
	for i := 0; i < 24; i++ { // past the failover TTL
		c.round(clients, nil)
		c.clk.Advance(15 * time.Second)
	}
	must.Eq(t, writes, l.statusWrites.Load())
	must.Eq(t, 0, l.hb.Tracker().Len())
	nl := c.leader()
	must.NotNil(t, nl)
	must.NotEq(t, l, nl)
	c.barrier()
	allReady(t, nl, clients)

	c.heal(l)
	c.converge(clients)
	c.barrier()
	allReady(t, l, clients)
	must.Eq(t, writes, l.statusWrites.Load())
}

// TestCluster_LaggingFollowerInstallsSnapshot: a follower cut off while
// the leader writes and compacts its log catches up by InstallSnapshot and
// ends with the leader's exact state.
func TestCluster_LaggingFollowerInstallsSnapshot(t *testing.T) {
	rc := testRaftConfig()
	rc.TrailingLogs = 4
	c := newCluster(t, 3, rc)
	l := c.waitLeader().s
	var f *server
	for _, s := range c.servers {
		if s != l {
			f = s
		}
	}
	clients := newClients(4)
	c.converge(clients)
	c.isolate(f)
	for i := 0; i < 100; i++ {
		n := newClients(200)[100+i].node.Copy()
		n.Status = structs.NodeStatusReady
		_, _, err := l.rep.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n, UpdatedAt: c.clk.Now().UnixNano()})
		must.NoError(t, err)
	}
	// Every server that could lead compacts its log, so whichever leads
	// after the heal must send a snapshot.
	c.barrier()
	for _, s := range c.servers {
		if s != f {
			must.NoError(t, s.rep.Raft().Snapshot().Error())
		}
	}
	// A write that fails on every server is still a log entry.
	_, _, err := l.rep.ApplyCommand(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"nope"}})
	must.ErrorIs(t, err, structs.ErrUnknownNode)
	must.Eq(t, 0, f.rep.FSM().Restores())

	c.heal(f)
	// A write after the heal: the follower applies it only after the
	// restore has returned (raft applies in order, on one goroutine).
	late := newClients(300)[299].node
	_, _, err = l.rep.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: late, UpdatedAt: c.clk.Now().UnixNano()})
	must.NoError(t, err)
	c.converge(clients)
	c.barrier()
	// Raft applies entries after a restore on the same goroutine, so the
	// count is settled once the follower applied a later entry.
	must.Positive(t, f.rep.FSM().Restores())
	want, err := c.leader().store.StateHash()
	must.NoError(t, err)
	for _, s := range c.servers {
		got, err := s.store.StateHash()
		must.NoError(t, err)
		must.Eq(t, want, got, must.Sprintf("server %s", s.id))
	}
	nodes, err := f.store.Nodes(nil)
	must.NoError(t, err)
	must.SliceLen(t, 105, nodes)
}
