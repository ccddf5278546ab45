package reconcile

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// evalsWithStatus lists the store's evaluations with status.
func (e *wkEnv) evalsWithStatus(status string) []*structs.Evaluation {
	e.t.Helper()
	evs, err := e.s.Evals(nil)
	must.NoError(e.t, err)
	var out []*structs.Evaluation
	for _, ev := range evs {
		if ev.Status == status {
			out = append(out, ev)
		}
	}
	return out
}

func TestWorker_UnplacedPlacementsBlockTheJobOnce(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusDown) // no ready node
	e.job(wkJob("web", 2), "ev1")
	before := e.s.LatestIndex()
	must.Eq(t, 1, e.process())
	// One write: the plan, the completed ev1 and the blocked evaluation.
	must.Eq(t, before+1, e.s.LatestIndex())
	must.Len(t, 0, e.jobAllocs("web"))
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
	b := e.eval(BlockedEvalID("", "web"))
	must.Eq(t, structs.EvalStatusBlocked, b.Status)
	must.Eq(t, structs.EvalTriggerQueuedAllocs, b.TriggeredBy)
	must.Eq(t, "ev1", b.PreviousEval)
	must.StrContains(t, b.StatusDescription, "2 placements found no node")
	must.Eq(t, before+1, b.CreateIndex)

	// The worker never queues a blocked evaluation.
	must.NoError(t, e.w.SyncFromStore())
	ready, held := e.w.Pending()
	must.Eq(t, 0, ready)
	must.Eq(t, 0, held)
	must.Eq(t, 0, e.process())

	// Blocking again replaces it: still one per job.
	e.evals(wkEval("ev2", "web", structs.EvalTriggerNodeUpdate))
	must.Eq(t, 1, e.process())
	must.Len(t, 1, e.evalsWithStatus(structs.EvalStatusBlocked))
	b2 := e.eval(BlockedEvalID("", "web"))
	must.Eq(t, "ev2", b2.PreviousEval)
	must.Eq(t, b.CreateIndex, b2.CreateIndex)

	// Once every placement finds a node, the blocked evaluation completes
	// in the same write.
	e.nodeStatus("n1", structs.NodeStatusReady, wkEval("ev3", "web", structs.EvalTriggerNodeUpdate))
	before = e.s.LatestIndex()
	must.Eq(t, 1, e.process())
	must.Eq(t, before+1, e.s.LatestIndex())
	must.Len(t, 2, e.jobAllocs("web"))
	must.Eq(t, structs.EvalStatusComplete, e.eval(BlockedEvalID("", "web")).Status)
	e.noEvalPendingOrFailed()
}

func TestWorker_SystemJobIsNotBlocked(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.apply(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1",
		Status: structs.NodeStatusDown, UpdatedAt: e.clk.Now().UnixNano()})
	j := wkJob("sys", 1)
	j.Type = structs.JobTypeSystem
	e.job(j, "ev1")
	must.Eq(t, 1, e.process())
	// Nothing to place on a down node, and a system job never blocks:
	// node-ready evaluations cover it.
	must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusBlocked))
	e.noEvalPendingOrFailed()
}

// A node that becomes ready between the plan's snapshot and its write was
// no candidate, and its status write did not see the blocked evaluation
// (it did not exist yet): the worker unblocks the job itself.
func TestWorker_NodeReadyWhileBlockingUnblocksAtOnce(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusInit)
	e.job(wkJob("web", 1), "ev1")
	e.w.beforeApply = func(attempt int) {
		if attempt == 1 {
			e.nodeStatus("n1", structs.NodeStatusReady) // no evaluations: nothing blocked yet
		}
	}
	must.Eq(t, 2, e.process()) // ev1, then the retry it left
	e.w.beforeApply = nil
	allocs := e.jobAllocs("web")
	must.Len(t, 1, allocs)
	must.Eq(t, "n1", allocs[0].NodeID)
	b := e.eval(BlockedEvalID("", "web"))
	must.Eq(t, structs.EvalStatusComplete, b.Status)
	retries := 0
	evs, err := e.s.Evals(nil)
	must.NoError(t, err)
	for _, ev := range evs {
		if ev.TriggeredBy == structs.EvalTriggerQueuedAllocs && ev.ID != b.ID {
			retries++
			must.Eq(t, b.ID, ev.PreviousEval)
			must.Eq(t, "n1", ev.NodeID)
		}
	}
	must.Eq(t, 1, retries)
	e.noEvalPendingOrFailed()
}

func TestUnblockEvals(t *testing.T) {
	must.Nil(t, UnblockEvals(nil, "n1", wkT0, apSeqIDs("u"), true))
	done := &structs.Evaluation{ID: "b", Status: structs.EvalStatusComplete}
	must.Nil(t, UnblockEvals(done, "n1", wkT0, apSeqIDs("u"), true))

	b := blockedEval(wkJob("web", 5), "ev1", []Placement{{Name: "web.web[0]"}, {Name: "web.web[1]"},
		{Name: "web.web[2]"}, {Name: "web.web[3]"}}, wkT0)
	must.StrContains(t, b.StatusDescription, "web.web[0], web.web[1], web.web[2] and 1 more")
	out := UnblockEvals(b, "n1", wkT0, apSeqIDs("u"), true)
	must.Len(t, 2, out)
	must.Eq(t, structs.EvalStatusBlocked, b.Status) // not modified
	must.Eq(t, b.ID, out[0].ID)
	must.Eq(t, structs.EvalStatusComplete, out[0].Status)
	must.Eq(t, "u-1", out[1].ID)
	must.Eq(t, structs.EvalStatusPending, out[1].Status)
	must.Eq(t, structs.EvalTriggerQueuedAllocs, out[1].TriggeredBy)
	must.Eq(t, b.ID, out[1].PreviousEval)
	must.Eq(t, "web", out[1].JobID)

	only := UnblockEvals(b, "n1", wkT0, apSeqIDs("u"), false)
	must.Len(t, 1, only)
	must.Eq(t, structs.EvalStatusComplete, only[0].Status)
}
