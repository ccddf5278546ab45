package rpc

import (
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestReferenceBug_AllocUpdateBeforeHeartbeat is the ordering bug of the
// reference fix: a client that comes back after a disconnect reports its
// running alloc before its first heartbeat. The update must be refused
// (rule 1) without touching the store; after the heartbeat the same update
// is accepted, creates a reconnect evaluation and cancels the pending
// max-disconnect-timeout follow-up.
func TestReferenceBug_AllocUpdateBeforeHeartbeat(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.addJob("web")
	f.place(testAlloc("a1", "web", "n1", structs.AllocClientStatusRunning))

	// The node misses its heartbeat: the server marks it disconnected and
	// the reconciler marks a1 unknown with a follow-up eval due when the
	// disconnect window ends.
	f.clock.Advance(time.Minute)
	f.setNodeStatus("n1", structs.NodeStatusDisconnected)
	followup := &structs.Evaluation{ID: "followup", JobID: "web", Type: structs.JobTypeService,
		TriggeredBy: structs.EvalTriggerMaxDisconnectTimeout, Status: structs.EvalStatusPending,
		WaitUntil: f.clock.Now().Add(10 * time.Minute)}
	f.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Now:                f.clock.Now(),
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a1", FollowupEvalID: "followup"}},
		Evals:              []*structs.Evaluation{followup},
	})
	must.True(t, f.alloc("a1").NeedsToReconnect())

	// The client reconnects and reports a1 running before heartbeating.
	f.clock.Advance(time.Minute)
	before := f.dump()
	var reply structs.AllocUpdateResponse
	err := f.node.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)), &reply)
	must.ErrorIs(t, err, structs.ErrNodeNotReady)
	var nr *NodeNotReadyError
	must.True(t, errors.As(err, &nr))
	must.Eq(t, "n1", nr.NodeID)
	must.Eq(t, structs.NodeStatusDisconnected, nr.Status)
	must.StrContains(t, err.Error(), `"n1"`)
	must.StrContains(t, err.Error(), structs.NodeStatusDisconnected)
	must.Eq(t, before, f.dump())

	// Heartbeat: disconnected -> ready, with a node-update eval for web.
	var hb structs.NodeUpdateResponse
	must.NoError(t, f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{
		NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}, &hb))
	must.Eq(t, structs.NodeStatusReady, f.nodeStatus("n1"))
	must.Eq(t, testTTL, hb.HeartbeatTTL)
	must.Len(t, 1, hb.EvalIDs)

	// The same update is now accepted.
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)), &reply))
	must.Eq(t, f.store.LatestIndex(), reply.Index)
	must.SliceEmpty(t, reply.Skipped)
	a1 := f.alloc("a1")
	must.Eq(t, structs.AllocClientStatusRunning, a1.ClientStatus)
	must.Eq(t, "", a1.FollowupEvalID)

	reconnects := f.evalsBy(structs.EvalTriggerReconnect)
	must.Len(t, 1, reconnects)
	must.Eq(t, "web", reconnects[0].JobID)
	must.Eq(t, "n1", reconnects[0].NodeID)
	must.Eq(t, structs.EvalStatusPending, reconnects[0].Status)
	must.Eq(t, 70, reconnects[0].Priority)

	fu, err := f.store.EvalByID(nil, "followup")
	must.NoError(t, err)
	must.Eq(t, structs.EvalStatusCanceled, fu.Status)
	for _, e := range f.evalsBy(structs.EvalTriggerMaxDisconnectTimeout) {
		must.NotEq(t, structs.EvalStatusPending, e.Status)
	}
}
