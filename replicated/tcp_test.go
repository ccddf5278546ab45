package replicated_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/replicated"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// echoNode is client endpoints that say which server answered.
type echoNode struct{ id string }

func (e echoNode) Register(a *structs.NodeRegisterRequest, r *structs.NodeUpdateResponse) error {
	r.EvalIDs = []string{e.id + ":" + a.Node.ID}
	return nil
}
func (e echoNode) UpdateStatus(a *structs.NodeUpdateStatusRequest, r *structs.NodeUpdateResponse) error {
	return fmt.Errorf("%w: from %s", structs.ErrPermissionDenied, e.id)
}
func (e echoNode) UpdateAlloc(*structs.AllocUpdateRequest, *structs.AllocUpdateResponse) error {
	return nil
}
func (e echoNode) GetClientAllocs(a *structs.NodeSpecificRequest, r *structs.NodeClientAllocsResponse) error {
	r.Allocs = map[string]uint64{e.id: 1}
	return nil
}

// TestTCP_ForwardingOverLoopback: three members on loopback ports; a
// follower's writes and client calls reach the leader over the same port
// raft uses, and errors keep their sentinel.
func TestTCP_ForwardingOverLoopback(t *testing.T) {
	type member struct {
		net *replicated.TCPNetwork
		rep *replicated.Replica
	}
	leaderCh := make(chan int, 8)
	var ms []member
	var servers []raft.Server
	for i := 0; i < 3; i++ {
		n, err := replicated.NewTCPNetwork("127.0.0.1:0", nil, nil)
		must.NoError(t, err)
		store, err := state.NewStore(nil)
		must.NoError(t, err)
		rep, err := replicated.New(replicated.Config{ID: raft.ServerID(fmt.Sprint(i)), Store: store,
			Transport: n.Transport(), Router: n.Router(), Raft: testRaftConfig(),
			OnLeader: func() { leaderCh <- i }})
		must.NoError(t, err)
		n.Serve(rep.LocalPeer(echoNode{id: fmt.Sprint(i)}))
		ms = append(ms, member{n, rep})
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprint(i)), Address: raft.ServerAddress(n.Addr().String())})
	}
	t.Cleanup(func() {
		for _, m := range ms {
			_ = m.rep.Shutdown()
			_ = m.net.Close()
		}
	})
	for _, m := range ms {
		must.NoError(t, m.rep.Bootstrap(servers)) // every member may; one wins
	}
	var leader int
	select {
	case leader = <-leaderCh:
	case <-timeAfter():
		t.Fatal("no leader")
	}
	f := ms[(leader+1)%3]

	// A write through the follower is applied once, by the leader's log.
	n := &structs.Node{ID: "n1", SecretID: "s", Status: structs.NodeStatusReady, Datacenter: "dc1"}
	idx, _, err := f.rep.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n})
	must.NoError(t, err)
	waitIndex(t, f.rep.Store(), idx)
	got, err := f.rep.Store().NodeByID(nil, "n1")
	must.NoError(t, err)
	must.NotNil(t, got)

	// A rejection keeps its sentinel across the wire; a result comes back typed.
	_, _, err = f.rep.ApplyCommand(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"nope"}})
	must.ErrorIs(t, err, structs.ErrUnknownNode)
	_, res, err := f.rep.ApplyCommand(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
		Alloc: []*structs.Allocation{{ID: "gone", ClientStatus: structs.AllocClientStatusRunning}}})
	must.NoError(t, err)
	ur, ok := res.(*structs.AllocUpdateResult)
	must.True(t, ok)
	must.SliceLen(t, 1, ur.Skipped)

	// Client calls through the follower are served by the leader.
	api := f.rep.NodeAPI(echoNode{id: "local"})
	var reply structs.NodeUpdateResponse
	must.NoError(t, api.Register(&structs.NodeRegisterRequest{Node: n}, &reply))
	must.Eq(t, []string{fmt.Sprintf("%d:n1", leader)}, reply.EvalIDs)
	err = api.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1"}, &reply)
	must.ErrorIs(t, err, structs.ErrPermissionDenied)
	// A stale read stays local; a consistent one goes to the leader.
	var allocs structs.NodeClientAllocsResponse
	must.NoError(t, api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1", QueryOptions: structs.QueryOptions{AllowStale: true}}, &allocs))
	must.MapContainsKey(t, allocs.Allocs, "local")
	must.NoError(t, api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1"}, &allocs))
	must.MapContainsKey(t, allocs.Allocs, fmt.Sprint(leader))
}
