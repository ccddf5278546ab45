package rejoin_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoenig/test/must"
	"github.com/shoenig/test/wait"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/replicated"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// raftCluster starts n servers replicating over an in-memory network.
func raftCluster(t *testing.T, n int) []*rejoin.Server {
	t.Helper()
	net := replicated.NewInmemNetwork()
	var members []raft.Server
	for i := 0; i < n; i++ {
		members = append(members, raft.Server{ID: raft.ServerID(fmt.Sprint(i)), Address: raft.ServerAddress(fmt.Sprintf("m%d", i))})
	}
	var servers []*rejoin.Server
	for i, m := range members {
		rc := replicated.FastRaftConfig()
		cfg := rejoin.RaftConfig{ID: string(m.ID), Transport: net.Transport(m.Address), Router: net.Router(m.Address),
			Serve: func(p replicated.Peer) { net.Register(m.Address, p) }, Raft: rc}
		if i == 0 {
			cfg.Bootstrap = members
		}
		srv, err := rejoin.New(rejoin.WithRaft(cfg), rejoin.WithAllocBatchWindow(-1))
		must.NoError(t, err)
		must.NoError(t, srv.Start())
		t.Cleanup(func() { _ = srv.Stop() })
		servers = append(servers, srv)
	}
	return servers
}

func waitLeader(t *testing.T, servers []*rejoin.Server, not *rejoin.Server) *rejoin.Server {
	t.Helper()
	var leader *rejoin.Server
	must.Wait(t, wait.InitialSuccess(wait.BoolFunc(func() bool {
		for _, s := range servers {
			if s != not && s.IsLeader() {
				leader = s
				return true
			}
		}
		return false
	}), wait.Timeout(20*time.Second), wait.Gap(10*time.Millisecond)))
	return leader
}

// TestServer_RaftClusterSurvivesLeaderStop: three embedded servers with
// WithRaft; clients and jobs go through a follower; the leader places the
// allocs; stopping the leader hands tracking to a new one with every node.
func TestServer_RaftClusterSurvivesLeaderStop(t *testing.T) {
	servers := raftCluster(t, 3)
	leader := waitLeader(t, servers, nil)
	var follower *rejoin.Server
	for _, s := range servers {
		if s != leader {
			follower = s
		}
	}
	for i := 0; i < 3; i++ {
		n := testutil.Node()
		var reply structs.NodeUpdateResponse
		must.NoError(t, follower.Endpoints().Register(&structs.NodeRegisterRequest{Node: n}, &reply))
		must.NoError(t, follower.Endpoints().UpdateStatus(&structs.NodeUpdateStatusRequest{
			NodeID: n.ID, SecretID: n.SecretID, Status: structs.NodeStatusReady}, &reply))
		must.Positive(t, reply.HeartbeatTTL) // the leader's tracker answered
	}
	job := testutil.Job(testutil.WithCount(3))
	_, err := follower.RegisterJob(job)
	must.NoError(t, err)
	_, err = leader.ProcessEvals()
	must.NoError(t, err)
	allocs, err := leader.Store().AllocsByJob(nil, job.Namespace, job.ID)
	must.NoError(t, err)
	must.SliceLen(t, 3, allocs)
	must.NoError(t, leader.Replica().Raft().Barrier(10*time.Second).Error())
	idx := leader.Store().LatestIndex()
	must.Wait(t, wait.InitialSuccess(wait.BoolFunc(func() bool { return follower.Store().LatestIndex() >= idx }),
		wait.Timeout(10*time.Second), wait.Gap(5*time.Millisecond)))
	got, err := follower.Store().AllocsByJob(nil, job.Namespace, job.ID)
	must.NoError(t, err)
	must.SliceLen(t, 3, got)
	must.False(t, follower.IsLeader())

	must.NoError(t, leader.Stop())
	must.False(t, leader.IsLeader())
	next := waitLeader(t, servers, leader)
	nodes, err := next.Store().Nodes(nil)
	must.NoError(t, err)
	must.SliceLen(t, 3, nodes)
	h1, err := next.Snapshot().StateHash()
	must.NoError(t, err)
	must.NotEq(t, [32]byte{}, h1)
}
