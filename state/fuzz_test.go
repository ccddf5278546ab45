package state

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// FuzzApply: any payload of any command type either applies or fails
// without changing anything, and never panics.
func FuzzApply(f *testing.F) {
	seeds := []struct {
		typ structs.MessageType
		req any
	}{
		{structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("n9", "ready")}},
		{structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n2"}}},
		{structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1", Status: "down"}},
		{structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job2")}},
		{structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "job1"}},
		{structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{mockEval("e", "x")}}},
		{structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: "n1",
			Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: "failed"}}}},
		{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, EvalID: "eval0",
			AllocsPlaced:       []*structs.Allocation{mockAlloc("a9", "n1")},
			AllocsStopped:      []*structs.AllocStopUpdate{{AllocID: "a2", ClientStatus: "lost"}},
			AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a3", FollowupEvalID: "f"}},
			AllocsReconnected:  []string{"a4"}}},
		// Conditional plans: current, stale (below the job's alloc
		// writes) and from the future.
		{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, JobID: "job1", ReadIndex: 5,
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a2"}}}},
		{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, JobID: "job1", ReadIndex: 3,
			AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a2"}}}},
		{structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, JobID: "job1", ReadIndex: 99}},
	}
	for _, s := range seeds {
		f.Add(uint8(s.typ), encode(f, s.req))
	}
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		s := seeded(t)
		before := dump(t, s)
		_, err := s.Apply(before.Latest+1, structs.MessageType(typ), payload)
		if err != nil {
			must.Eq(t, before, dump(t, s))
			return
		}
		must.Eq(t, before.Latest+1, s.LatestIndex())
		dump(t, s) // the alloc tables still agree
	})
}
