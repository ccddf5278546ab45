package heartbeat

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

var (
	_ StateReader = (*state.Store)(nil)
	_ StateReader = (*state.Snapshot)(nil)
	_ Writer      = (*state.Store)(nil)
)

// TestHeartbeater_AgainstRealStore: a ready node with a disconnect-capable
// alloc goes disconnected with one eval in the real store, then down once the
// alloc's window has passed; a deleted node is skipped.
func TestHeartbeater_AgainstRealStore(t *testing.T) {
	store, err := state.NewStore(nil)
	must.NoError(t, err)
	apply := func(mt structs.MessageType, req any) {
		t.Helper()
		_, _, err := store.ApplyCommand(mt, req)
		must.NoError(t, err)
	}
	apply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{
		Node: &structs.Node{ID: "n1", Datacenter: "dc1", Status: structs.NodeStatusReady}})
	apply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{
		Node: &structs.Node{ID: "n2", Datacenter: "dc1", Status: structs.NodeStatusReady}})
	apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job("web", 5*time.Minute)})
	a := alloc("a1", "n1", "web", "run", "running")
	a.Name = "web.web[0]"
	apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Namespace: "default", JobID: "web", Now: epoch, AllocsPlaced: []*structs.Allocation{a}})

	clk := newFakeClock(epoch)
	h, err := New(Config{Clock: clk, Rand: rand.New(rand.NewPCG(7, 7))}, store, store)
	must.NoError(t, err)
	defer h.Stop()
	h.SetLeader(true)
	ttl, err := h.ResetHeartbeatTimer("n1")
	must.NoError(t, err)
	_, err = h.ResetHeartbeatTimer("n2")
	must.NoError(t, err)
	apply(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n2"}})

	clk.Advance(ttl + DefaultHeartbeatGrace)
	n, err := store.NodeByID(nil, "n1")
	must.NoError(t, err)
	must.Eq(t, structs.NodeStatusDisconnected, n.Status)
	evals, err := store.EvalsByJob(nil, "default", "web")
	must.NoError(t, err)
	must.Len(t, 1, evals)
	must.Eq(t, structs.EvalTriggerNodeUpdate, evals[0].TriggeredBy)
	must.Eq(t, "n1", evals[0].NodeID)

	// The reconciler marks the alloc unknown; nothing reconnects, so after
	// its 5m window (and the rechecks on the way) the node is down.
	apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Namespace: "default", JobID: "web", Now: clk.Now(),
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a1"}}})
	clk.Advance(5*time.Minute - time.Nanosecond)
	n, _ = store.NodeByID(nil, "n1")
	must.Eq(t, structs.NodeStatusDisconnected, n.Status)
	clk.Advance(time.Hour)
	n, _ = store.NodeByID(nil, "n1")
	must.Eq(t, structs.NodeStatusDown, n.Status)
	must.False(t, h.Tracker().Contains("n1"))
	must.False(t, h.Tracker().Contains("n2"))
}
