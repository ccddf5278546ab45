package state

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func clientStatusStates(a *structs.Allocation) []structs.AllocState {
	var out []structs.AllocState
	for _, s := range a.AllocStates {
		out = append(out, *s)
	}
	return out
}

func TestApplyPlanResults_Placement(t *testing.T) {
	s := seeded(t)
	repl := mockAlloc("a1-r", "n2")
	repl.PreviousAllocation = "a1"
	repl.ClientStatus, repl.DesiredStatus = "", ""
	prev := alloc(t, s, "a1")
	idx, _ := apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		EvalID: "eval0", Now: t0.Add(time.Minute), AllocsPlaced: []*structs.Allocation{repl}})
	got := alloc(t, s, "a1-r")
	must.Eq(t, structs.DefaultNamespace, got.Namespace)
	must.Eq(t, structs.AllocDesiredStatusRun, got.DesiredStatus)
	must.Eq(t, structs.AllocClientStatusPending, got.ClientStatus)
	must.Eq(t, idx, got.CreateIndex)
	must.Eq(t, idx, got.ModifyIndex)
	must.Eq(t, idx, got.AllocModifyIndex)
	must.Eq(t, t0.Add(time.Minute).UnixNano(), got.CreateTime)
	must.Eq(t, got.CreateTime, got.ModifyTime)

	linked := alloc(t, s, "a1")
	must.Eq(t, "a1-r", linked.NextAllocation)
	must.Eq(t, idx, linked.AllocModifyIndex)
	must.Eq(t, "", prev.NextAllocation) // copy-on-write

	ev := eval(t, s, "eval0")
	must.Eq(t, structs.EvalStatusComplete, ev.Status)
	must.Eq(t, idx, ev.ModifyIndex)

	byEval, err := s.AllocsByEval(nil, "eval0")
	must.NoError(t, err)
	must.SliceLen(t, 5, byEval)
	byJob, err := s.AllocsByJob(nil, "", "job1")
	must.NoError(t, err)
	must.SliceLen(t, 5, byJob)
	byNode, err := s.AllocsByNode(nil, "n2")
	must.NoError(t, err)
	must.Eq(t, []string{"a1-r", "a3"}, []string{byNode[0].ID, byNode[1].ID})
}

func TestApplyPlanResults_Stops(t *testing.T) {
	s := seeded(t)
	idx, _ := apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, AllocsStopped: []*structs.AllocStopUpdate{
		{AllocID: "a1", ClientStatus: structs.AllocClientStatusLost, Description: structs.AllocLost},
		{AllocID: "a2", ClientStatus: structs.AllocClientStatusFailed, Description: "f"},
		{AllocID: "a3", Description: structs.AllocNotNeeded},
	}})
	cases := []struct {
		id, client string
		states     []structs.AllocState
	}{
		{"a1", "lost", []structs.AllocState{{Value: "lost", Time: t0}}},
		{"a2", "failed", []structs.AllocState{{Value: "failed", Time: t0}}},
		{"a3", "running", nil},
	}
	for _, tc := range cases {
		a := alloc(t, s, tc.id)
		must.Eq(t, structs.AllocDesiredStatusStop, a.DesiredStatus, must.Sprint(tc.id))
		must.Eq(t, tc.client, a.ClientStatus, must.Sprint(tc.id))
		must.Eq(t, tc.states, clientStatusStates(a), must.Sprint(tc.id))
		must.Eq(t, idx, a.AllocModifyIndex)
		must.Eq(t, t0.UnixNano(), a.ModifyTime)
	}
	live, err := s.AllocsByNodeTerminal(nil, "n1", false)
	must.NoError(t, err)
	must.SliceEmpty(t, live)
}

func TestApplyPlanResults_DisconnectReconnect(t *testing.T) {
	s := seeded(t)
	disconnectA1(t, s)
	a := alloc(t, s, "a1")
	must.Eq(t, structs.AllocClientStatusUnknown, a.ClientStatus)
	must.Eq(t, structs.AllocUnknown, a.ClientDescription)
	must.Eq(t, "fu", a.FollowupEvalID)
	must.Eq(t, []structs.AllocState{{Value: "unknown", Time: t0}}, clientStatusStates(a))
	must.True(t, a.NeedsToReconnect())

	// The client reports running, then the reconnect plan runs.
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running"})
	t1 := t0.Add(time.Minute)
	idx, _ := apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t1, AllocsReconnected: []string{"a1"}})
	a = alloc(t, s, "a1")
	must.Eq(t, []structs.AllocState{{Value: "unknown", Time: t0}, {Value: "running", Time: t1}}, clientStatusStates(a))
	must.False(t, a.NeedsToReconnect())
	must.Eq(t, "", a.FollowupEvalID)
	must.Eq(t, idx, a.AllocModifyIndex)
}

func TestApplyPlanResults_TimeNeverGoesBackwards(t *testing.T) {
	s := seeded(t)
	disconnectA1(t, s)
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running"})
	early := t0.Add(-time.Hour)
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: early, AllocsReconnected: []string{"a1"}})
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: early,
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a1"}}})
	must.Eq(t, []structs.AllocState{
		{Value: "unknown", Time: t0}, {Value: "running", Time: t0}, {Value: "unknown", Time: t0},
	}, clientStatusStates(alloc(t, s, "a1")))
}

func TestApplyPlanResults_UpdatesFollowupsEvals(t *testing.T) {
	s := seeded(t)
	idx, _ := apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		EvalID:         "missing", // ignored
		AllocsUpdated:  []*structs.AllocInPlaceUpdate{{AllocID: "a1", JobVersion: 7}},
		AllocFollowups: []*structs.AllocFollowupUpdate{{AllocID: "a1", FollowupEvalID: "later"}, {AllocID: "a2", FollowupEvalID: "later"}},
		Evals:          []*structs.Evaluation{mockEval("later", structs.EvalTriggerAllocReschedule)},
	})
	a1 := alloc(t, s, "a1")
	must.Eq(t, 7, a1.JobVersion)
	must.Eq(t, "later", a1.FollowupEvalID)
	must.Eq(t, "later", alloc(t, s, "a2").FollowupEvalID)
	must.Eq(t, 0, alloc(t, s, "a3").JobVersion)
	must.Eq(t, idx, eval(t, s, "later").CreateIndex)
	missing, err := s.EvalByID(nil, "missing")
	must.NoError(t, err)
	must.Nil(t, missing)
}

func TestApplyPlanResults_FollowupOnPlacedAlloc(t *testing.T) {
	s := seeded(t)
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		AllocsPlaced:   []*structs.Allocation{mockAlloc("a9", "n1")},
		AllocFollowups: []*structs.AllocFollowupUpdate{{AllocID: "a9", FollowupEvalID: "x"}}})
	must.Eq(t, "x", alloc(t, s, "a9").FollowupEvalID)
}
