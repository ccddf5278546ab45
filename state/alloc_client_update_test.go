package state

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func clientUpdate(t *testing.T, s *Store, nodeID string, allocs ...*structs.Allocation) (uint64, *structs.AllocUpdateResult) {
	t.Helper()
	idx, res := apply(t, s, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
		NodeID: nodeID, Alloc: allocs, UpdatedAt: 42})
	return idx, res.(*structs.AllocUpdateResult)
}

func TestAllocClientUpdate_OnlyClientFields(t *testing.T) {
	s := seeded(t)
	before := alloc(t, s, "a1")
	forged := &structs.Allocation{
		ID: "a1", ClientStatus: structs.AllocClientStatusComplete, ClientDescription: "done",
		TaskStates: map[string]*structs.TaskState{"app": {State: "dead", Restarts: 2}},
		// Everything below is the server's and must be ignored.
		NodeID: "n2", Namespace: "other", JobID: "evil", JobVersion: 9, TaskGroup: "x",
		DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "forged",
		AllocStates:    []*structs.AllocState{{Value: structs.AllocClientStatusUnknown, Time: t0}},
		FollowupEvalID: "forged", NextAllocation: "forged", PreviousAllocation: "forged",
		EvalID: "forged", CreateIndex: 1, AllocModifyIndex: 1, CreateTime: 1,
		RescheduleTracker: &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{{PrevAllocID: "x"}}},
	}
	idx, res := clientUpdate(t, s, "n1", forged)
	must.Eq(t, []string{"a1"}, res.Applied)
	must.SliceEmpty(t, res.Skipped)

	want := before.Copy()
	want.ClientStatus = structs.AllocClientStatusComplete
	want.ClientDescription = "done"
	want.TaskStates = map[string]*structs.TaskState{"app": {State: "dead", Restarts: 2}}
	want.ModifyIndex = idx
	want.ModifyTime = 42
	must.Eq(t, want, alloc(t, s, "a1"))
	must.Eq(t, before.AllocModifyIndex, alloc(t, s, "a1").AllocModifyIndex)
	must.Eq(t, idx, node(t, s, "n1").LastAllocUpdateIndex)
	must.Eq(t, 0, node(t, s, "n2").LastAllocUpdateIndex)
	must.Eq(t, idx, s.Index(TableAllocs))
	must.Eq(t, idx, s.Index(TableNodes))
	// The alloc is now terminal: the node index moved it.
	term, err := s.AllocsByNodeTerminal(nil, "n1", true)
	must.NoError(t, err)
	must.SliceLen(t, 1, term)
	must.Eq(t, "a1", term[0].ID)
}

func TestAllocClientUpdate_Skips(t *testing.T) {
	s := seeded(t)
	// a2 is lost (client-terminal) on the server.
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a2", ClientStatus: structs.AllocClientStatusLost}}})
	before := dump(t, s)
	upd := func(id, status string) *structs.Allocation { return &structs.Allocation{ID: id, ClientStatus: status} }

	idx, res := clientUpdate(t, s, "n1",
		upd("gone", "running"), // garbage-collected
		upd("a3", "running"),   // n2's alloc
		upd("a2", "running"),   // lost on the server: never resurrected
		upd("a1", "failed"))    // applies
	must.Eq(t, []string{"a1"}, res.Applied)
	must.Eq(t, []*structs.AllocUpdateSkip{
		{AllocID: "gone", NodeID: "n1", Reason: structs.SkipUnknownAlloc},
		{AllocID: "a3", NodeID: "n2", Reason: structs.SkipWrongNode},
		{AllocID: "a2", NodeID: "n1", Reason: structs.SkipClientTerminal},
	}, res.Skipped)
	must.Eq(t, structs.AllocClientStatusFailed, alloc(t, s, "a1").ClientStatus)
	must.Eq(t, before.Allocs[1], alloc(t, s, "a2"))
	must.Eq(t, before.Allocs[2], alloc(t, s, "a3"))
	must.Eq(t, idx, node(t, s, "n1").LastAllocUpdateIndex)

	// Without a request node: a4's node n3 is down, a3 applies, and a
	// client-terminal alloc may repeat its own status.
	idx, res = clientUpdate(t, s, "", upd("a4", "running"), upd("a3", "pending"), upd("a1", "failed"))
	must.Eq(t, []string{"a3", "a1"}, res.Applied)
	must.Eq(t, []*structs.AllocUpdateSkip{{AllocID: "a4", NodeID: "n3", Reason: structs.SkipNodeNotReady}}, res.Skipped)
	must.Eq(t, before.Allocs[3], alloc(t, s, "a4"))
	must.Eq(t, 0, node(t, s, "n3").LastAllocUpdateIndex)
	must.Eq(t, idx, node(t, s, "n2").LastAllocUpdateIndex)
}

func TestAllocClientUpdate_AllSkippedTouchesNoNode(t *testing.T) {
	s := seeded(t)
	before := dump(t, s)
	idx, res := clientUpdate(t, s, "n1", &structs.Allocation{ID: "gone", ClientStatus: "running"})
	must.SliceEmpty(t, res.Applied)
	must.SliceLen(t, 1, res.Skipped)
	after := dump(t, s)
	must.Eq(t, idx, after.Latest)
	after.Latest = before.Latest
	must.Eq(t, before, after)
}

func TestAllocClientUpdate_ReconnectCancelsFollowup(t *testing.T) {
	cases := []struct {
		name       string
		trigger    string
		status     string
		wantStatus string
		cleared    bool
	}{
		{"pending disconnect timeout", structs.EvalTriggerMaxDisconnectTimeout, structs.EvalStatusPending, structs.EvalStatusCanceled, true},
		{"complete disconnect timeout", structs.EvalTriggerMaxDisconnectTimeout, structs.EvalStatusComplete, structs.EvalStatusComplete, false},
		{"pending reschedule", structs.EvalTriggerAllocReschedule, structs.EvalStatusPending, structs.EvalStatusPending, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			fu := mockEval("fu", tc.trigger)
			fu.Status = tc.status
			apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
				Now: t0,
				AllocsDisconnected: []*structs.AllocFollowupUpdate{
					{AllocID: "a1", FollowupEvalID: "fu"}, {AllocID: "a2", FollowupEvalID: "fu"}},
				Evals: []*structs.Evaluation{fu},
			})
			before := eval(t, s, "fu")
			idx, res := clientUpdate(t, s, "n1",
				&structs.Allocation{ID: "a1", ClientStatus: "running"},
				&structs.Allocation{ID: "a2", ClientStatus: "running"})
			must.SliceLen(t, 2, res.Applied)
			got := eval(t, s, "fu")
			must.Eq(t, tc.wantStatus, got.Status)
			for _, id := range []string{"a1", "a2"} {
				a := alloc(t, s, id)
				if tc.cleared {
					must.Eq(t, "", a.FollowupEvalID)
				} else {
					must.Eq(t, "fu", a.FollowupEvalID)
				}
				// The client update never writes AllocStates: the
				// reconnect is recorded by the plan that handles it.
				must.True(t, a.NeedsToReconnect())
			}
			if tc.cleared {
				must.Eq(t, idx, got.ModifyIndex)
				must.Eq(t, structs.EvalStatusPending, before.Status) // copy-on-write
			} else {
				must.Eq(t, before, got)
			}
		})
	}
}

func TestAllocClientUpdate_NotReconnectingLeavesFollowup(t *testing.T) {
	s := seeded(t)
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		AllocFollowups: []*structs.AllocFollowupUpdate{{AllocID: "a1", FollowupEvalID: "fu"}},
		Evals:          []*structs.Evaluation{mockEval("fu", structs.EvalTriggerMaxDisconnectTimeout)}})
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running"})
	must.Eq(t, structs.EvalStatusPending, eval(t, s, "fu").Status)
	must.Eq(t, "fu", alloc(t, s, "a1").FollowupEvalID)
}

func TestAllocClientUpdate_CreatesEvals(t *testing.T) {
	s := seeded(t)
	idx, _ := apply(t, s, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: "n1",
		Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: "failed"}},
		Evals: []*structs.Evaluation{mockEval("retry", structs.EvalTriggerRetryFailedAlloc)}, UpdatedAt: time.Second.Nanoseconds()})
	must.Eq(t, idx, eval(t, s, "retry").CreateIndex)
	must.Eq(t, idx, s.Index(TableEvals))
}
