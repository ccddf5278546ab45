package state

import (
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestApply_BadInputChangesNothing: every rejected command leaves the store,
// its table indexes and LatestIndex exactly as they were.
func TestApply_BadInputChangesNothing(t *testing.T) {
	type cmd struct {
		typ structs.MessageType
		req any
	}
	plan := func(p structs.ApplyPlanResultsRequest) cmd {
		if p.Now.IsZero() {
			p.Now = t0
		}
		return cmd{structs.ApplyPlanResultsRequestType, &p}
	}
	clientUpdate := func(allocs ...*structs.Allocation) cmd {
		return cmd{structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: "n1", Alloc: allocs, UpdatedAt: 1}}
	}
	upd := func(id, status string) *structs.Allocation {
		return &structs.Allocation{ID: id, ClientStatus: status}
	}
	badJob := mockJob("job2")
	badJob.TaskGroups[0].Disconnect.StopOnClientAfter = new(time.Duration)

	cases := []struct {
		name string
		cmd  cmd
		want error
	}{
		{"register nil node", cmd{structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{}}, structs.ErrInvalidRequest},
		{"register no ID", cmd{structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("", "ready")}}, structs.ErrInvalidRequest},
		{"deregister none", cmd{structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{}}, structs.ErrInvalidRequest},
		{"deregister unknown", cmd{structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n1", "nope"}}}, structs.ErrUnknownNode},
		{"status unknown node", cmd{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "nope", Status: "down"}}, structs.ErrUnknownNode},
		{"status no node ID", cmd{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{Status: "down"}}, structs.ErrInvalidRequest},
		{"status invalid transition", cmd{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n3", Status: "disconnected"}}, structs.ErrInvalidTransition},
		{"status bogus", cmd{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1", Status: "bogus"}}, structs.ErrInvalidNodeStatus},
		{"status eval without ID", cmd{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1", Status: "down",
			Evals: []*structs.Evaluation{{JobID: "job1"}}}}, structs.ErrInvalidRequest},
		{"job nil", cmd{structs.JobRegisterRequestType, &structs.JobRegisterRequest{}}, structs.ErrInvalidJob},
		{"job bad type", cmd{structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: &structs.Job{ID: "x", Type: "nope"}}}, structs.ErrInvalidJob},
		{"job bad disconnect", cmd{structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: badJob}}, structs.ErrInvalidJob},
		{"job eval without ID", cmd{structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job2"), Eval: &structs.Evaluation{}}}, structs.ErrInvalidRequest},
		{"deregister unknown job", cmd{structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "nope"}}, structs.ErrUnknownJob},
		{"deregister job other namespace", cmd{structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{Namespace: "other", JobID: "job1"}}, structs.ErrUnknownJob},
		{"deregister no job ID", cmd{structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{}}, structs.ErrInvalidRequest},
		{"eval update empty", cmd{structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{}}, structs.ErrInvalidRequest},
		{"eval update no ID", cmd{structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{mockEval("e9", "x"), {}}}}, structs.ErrInvalidRequest},
		{"client update empty", clientUpdate(), structs.ErrInvalidRequest},
		{"client update no ID", clientUpdate(upd("a1", "running"), upd("", "running")), structs.ErrInvalidRequest},
		{"client update unknown status", clientUpdate(upd("a1", "running"), upd("a2", "unknown")), structs.ErrInvalidRequest},
		{"client update lost status", clientUpdate(upd("a1", "running"), upd("a2", "lost")), structs.ErrInvalidRequest},
		{"client update bogus status", clientUpdate(upd("a1", "bogus")), structs.ErrInvalidRequest},
		{"client update empty status", clientUpdate(upd("a1", "")), structs.ErrInvalidRequest},
		{"client update eval without ID", cmd{structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
			Alloc: []*structs.Allocation{upd("a1", "running")}, Evals: []*structs.Evaluation{{}}}}, structs.ErrInvalidRequest},
		{"plan unknown stop", plan(structs.ApplyPlanResultsRequest{EvalID: "eval0",
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a1"}, {AllocID: "nope"}}}), structs.ErrUnknownAlloc},
		{"plan unknown disconnect", plan(structs.ApplyPlanResultsRequest{
			AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "nope"}}}), structs.ErrUnknownAlloc},
		{"plan unknown reconnect", plan(structs.ApplyPlanResultsRequest{AllocsReconnected: []string{"a1", "nope"}}), structs.ErrUnknownAlloc},
		{"plan unknown update", plan(structs.ApplyPlanResultsRequest{AllocsUpdated: []*structs.AllocInPlaceUpdate{{AllocID: "nope"}}}), structs.ErrUnknownAlloc},
		{"plan unknown followup", plan(structs.ApplyPlanResultsRequest{AllocFollowups: []*structs.AllocFollowupUpdate{{AllocID: "nope"}}}), structs.ErrUnknownAlloc},
		{"plan placement without node", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{mockAlloc("a9", "n1"), mockAlloc("a10", "")}}), structs.ErrInvalidRequest},
		{"plan placement without job", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{{ID: "a9", NodeID: "n1", TaskGroup: "web"}}}), structs.ErrInvalidRequest},
		{"plan placement without group", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{{ID: "a9", NodeID: "n1", JobID: "job1"}}}), structs.ErrInvalidRequest},
		{"plan placement without ID", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{{NodeID: "n1", JobID: "job1", TaskGroup: "web"}}}), structs.ErrInvalidRequest},
		{"plan placement of existing alloc", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{mockAlloc("a1", "n1")}}), structs.ErrInvalidRequest},
		{"plan placement twice", plan(structs.ApplyPlanResultsRequest{
			AllocsPlaced: []*structs.Allocation{mockAlloc("a9", "n1"), mockAlloc("a9", "n2")}}), structs.ErrInvalidRequest},
		{"plan bad stop status", plan(structs.ApplyPlanResultsRequest{
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a1", ClientStatus: "bogus"}}}), structs.ErrInvalidRequest},
		{"plan eval without ID", plan(structs.ApplyPlanResultsRequest{
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a1"}}, Evals: []*structs.Evaluation{{}}}), structs.ErrInvalidRequest},
		{"plan without time", cmd{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a1"}}}}, structs.ErrInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			before := dump(t, s)
			_, err := s.Apply(before.Latest+1, tc.cmd.typ, encode(t, tc.cmd.req))
			must.ErrorIs(t, err, tc.want)
			must.Eq(t, before, dump(t, s))
		})
	}
}

// TestApply_BadEnvelopeChangesNothing: undecodable payloads, unknown types
// and stale indexes.
func TestApply_BadEnvelopeChangesNothing(t *testing.T) {
	valid := encode(t, &structs.NodeRegisterRequest{Node: mockNode("n9", "ready")})
	cases := []struct {
		name    string
		index   func(latest uint64) uint64
		typ     structs.MessageType
		payload []byte
		want    error
	}{
		{"undecodable", next, structs.NodeRegisterRequestType, []byte{0xc1}, structs.ErrDecode},
		{"truncated", next, structs.ApplyPlanResultsRequestType, encode(t, &structs.ApplyPlanResultsRequest{EvalID: "e"})[:5], structs.ErrDecode},
		{"wrong shape", next, structs.NodeDeregisterRequestType, encode(t, &structs.NodeDeregisterRequest{NodeIDs: []string{"n1"}})[:1], structs.ErrDecode},
		{"unknown type", next, structs.MessageType(99), valid, structs.ErrUnknownCommand},
		{"stale index equal", func(l uint64) uint64 { return l }, structs.NodeRegisterRequestType, valid, structs.ErrStaleIndex},
		{"stale index zero", func(uint64) uint64 { return 0 }, structs.NodeRegisterRequestType, valid, structs.ErrStaleIndex},
		{"stale index older", func(l uint64) uint64 { return l - 1 }, structs.NodeRegisterRequestType, valid, structs.ErrStaleIndex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			before := dump(t, s)
			_, err := s.Apply(tc.index(before.Latest), tc.typ, tc.payload)
			must.ErrorIs(t, err, tc.want)
			must.Eq(t, before, dump(t, s))
		})
	}
}

func next(latest uint64) uint64 { return latest + 1 }

func TestApply_IgnoreFlagSkipsUnknownType(t *testing.T) {
	s := seeded(t)
	before := dump(t, s)
	res, err := s.Apply(before.Latest+5, structs.MessageType(99)|structs.IgnoreUnknownTypeFlag, []byte{0xc1})
	must.NoError(t, err)
	must.Nil(t, res)
	after := dump(t, s)
	must.Eq(t, before.Latest+5, after.Latest)
	after.Latest = before.Latest
	must.Eq(t, before, after) // tables and their indexes untouched
}

func TestApply_IgnoreFlagOnKnownTypeApplies(t *testing.T) {
	s := testStore(t)
	_, err := s.Apply(1, structs.NodeRegisterRequestType|structs.IgnoreUnknownTypeFlag,
		encode(t, &structs.NodeRegisterRequest{Node: mockNode("n1", "ready")}))
	must.NoError(t, err)
	must.Eq(t, "n1", node(t, s, "n1").ID)
}

func TestApply_ErrorsCarryDetail(t *testing.T) {
	s := seeded(t)
	_, _, err := s.ApplyCommand(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n3", Status: "disconnected"})
	var te *structs.NodeTransitionError
	must.True(t, errors.As(err, &te))
	must.Eq(t, "n3", te.NodeID)
	must.StrContains(t, err.Error(), "n3")

	_, _, err = s.ApplyCommand(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, AllocsReconnected: []string{"ghost"}})
	must.StrContains(t, err.Error(), "ghost")
	var nf *NotFoundError
	must.True(t, errors.As(err, &nf))
	must.Eq(t, "ghost", nf.ID)
}
