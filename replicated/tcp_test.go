package replicated_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
			OnLeader: func() {
				select { // never block raft's leadership loop on a test channel
				case leaderCh <- i:
				default:
				}
			}})
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

	// Client calls through a follower are served by the leader. On a
	// loaded machine leadership may move while a call is in flight, so a
	// call counts only when the same server led before and after it and
	// the caller was a follower throughout; anything else is retried.
	stableLeader := func() (string, bool) {
		_, before := ms[0].rep.Leader()
		for _, m := range ms[1:] {
			if _, id := m.rep.Leader(); id != before {
				return "", false
			}
		}
		return string(before), before != ""
	}
	forwardedVia := func(call func(follower member) string) {
		t.Helper()
		for attempt := 0; attempt < 50; attempt++ {
			lead, ok := stableLeader()
			if !ok {
				select { // an election is under way: wait for it, or a tick
				case <-leaderCh:
				case <-time.After(testRaftConfig().HeartbeatTimeout):
				}
				continue
			}
			follower := ms[(int(lead[0]-'0')+1)%3]
			served := call(follower)
			if after, ok := stableLeader(); !ok || after != lead {
				continue
			}
			must.Eq(t, lead, served)
			return
		}
		t.Fatal("leadership never held still for one forwarded call")
	}
	forwardedVia(func(follower member) string {
		var reply structs.NodeUpdateResponse
		must.NoError(t, follower.rep.NodeAPI(echoNode{id: "local"}).Register(&structs.NodeRegisterRequest{Node: n}, &reply))
		must.SliceLen(t, 1, reply.EvalIDs)
		served, _, _ := strings.Cut(reply.EvalIDs[0], ":")
		return served
	})
	api := f.rep.NodeAPI(echoNode{id: "local"})
	var reply structs.NodeUpdateResponse
	err = api.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1"}, &reply)
	must.ErrorIs(t, err, structs.ErrPermissionDenied)
	// A stale read stays local; a consistent one goes to the leader.
	var allocs structs.NodeClientAllocsResponse
	must.NoError(t, api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1", QueryOptions: structs.QueryOptions{AllowStale: true}}, &allocs))
	must.MapContainsKey(t, allocs.Allocs, "local")
	forwardedVia(func(follower member) string {
		var allocs structs.NodeClientAllocsResponse
		must.NoError(t, follower.rep.NodeAPI(echoNode{id: "local"}).GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1"}, &allocs))
		must.MapLen(t, 1, allocs.Allocs)
		for served := range allocs.Allocs {
			return served
		}
		return ""
	})
}
