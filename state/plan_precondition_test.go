package state

import (
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestApplyPlanResults_ReadIndex: a conditional plan applies only if
// nothing it depends on changed after its read index; otherwise it is
// rejected with a *PlanStaleError and the store is untouched.
func TestApplyPlanResults_ReadIndex(t *testing.T) {
	other := mockJob("job2")
	cases := []struct {
		name string
		// change runs after the read index is taken.
		change func(t *testing.T, s *Store)
		// plan is job1's plan (stopA2 if nil).
		plan func() *structs.ApplyPlanResultsRequest
		// stale is the PlanStaleError.What expected; "" means applied.
		stale string
	}{
		{name: "nothing changed"},
		{name: "job updated", stale: "job",
			change: func(t *testing.T, s *Store) {
				j := mockJob("job1")
				j.TaskGroups[0].Count = 3
				apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j})
			}},
		{name: "job purged", stale: "job",
			change: func(t *testing.T, s *Store) {
				apply(t, s, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "job1", Purge: true, UpdatedAt: 1})
			}},
		{name: "client update of the job's alloc", stale: "allocations",
			change: func(t *testing.T, s *Store) { clientFails(t, s, "n1", "a1") }},
		{name: "another job's alloc changed",
			change: func(t *testing.T, s *Store) {
				apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: other})
				b := mockAlloc("b1", "n1")
				b.JobID = "job2"
				place(t, s, b)
				clientFails(t, s, "n1", "b1")
			}},
		{name: "node of one of the job's allocs changed", stale: "node n2",
			change: func(t *testing.T, s *Store) { setStatus(t, s, "n2", structs.NodeStatusDisconnected) }},
		{name: "node of one of the job's allocs removed", stale: "node n3",
			change: func(t *testing.T, s *Store) {
				apply(t, s, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n3"}})
			}},
		{name: "another node changed",
			change: func(t *testing.T, s *Store) {
				registerNode(t, s, "n4", structs.NodeStatusReady)
				setStatus(t, s, "n4", structs.NodeStatusDown)
			}},
		{name: "node placed on changed", stale: "node n4", plan: placeOnN4,
			change: func(t *testing.T, s *Store) { setStatus(t, s, "n4", structs.NodeStatusDown) }},
		{name: "system job, any node changed", stale: "nodes", plan: systemPlan,
			change: func(t *testing.T, s *Store) { registerNode(t, s, "n5", structs.NodeStatusReady) }},
		{name: "system job, no node changed", plan: systemPlan,
			change: func(t *testing.T, s *Store) {
				apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: other})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			registerNode(t, s, "n4", structs.NodeStatusReady)
			apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: systemJob()})
			plan := stopA2
			if tc.plan != nil {
				plan = tc.plan
			}
			req := plan()
			req.ReadIndex = s.LatestIndex()
			if tc.change != nil {
				tc.change(t, s)
			}
			before := dump(t, s)
			idx, _, err := s.ApplyCommand(structs.ApplyPlanResultsRequestType, req)
			if tc.stale == "" {
				must.NoError(t, err)
				must.Eq(t, idx, s.LatestIndex())
				return
			}
			must.ErrorIs(t, err, structs.ErrPlanStale)
			var pse *PlanStaleError
			must.True(t, errors.As(err, &pse))
			must.Eq(t, tc.stale, pse.What)
			must.Eq(t, req.ReadIndex, pse.ReadIndex)
			must.Eq(t, before, dump(t, s))

			// The same plan computed on the current state applies, unless
			// its job is gone.
			req.ReadIndex = s.LatestIndex()
			if tc.name == "job purged" {
				_, _, err = s.ApplyCommand(structs.ApplyPlanResultsRequestType, req)
				must.ErrorIs(t, err, structs.ErrPlanStale)
				return
			}
			apply(t, s, structs.ApplyPlanResultsRequestType, req)
		})
	}
}

func TestApplyPlanResults_ReadIndexMalformed(t *testing.T) {
	s := seeded(t)
	before := dump(t, s)
	future := stopA2()
	future.ReadIndex = s.LatestIndex() + 1
	_, _, err := s.ApplyCommand(structs.ApplyPlanResultsRequestType, future)
	must.ErrorIs(t, err, structs.ErrInvalidRequest)

	noJob := stopA2()
	noJob.JobID, noJob.ReadIndex = "", s.LatestIndex()
	_, _, err = s.ApplyCommand(structs.ApplyPlanResultsRequestType, noJob)
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
	must.Eq(t, before, dump(t, s))
}

// TestApplyPlanResults_ReadIndexSurvivesEncoding: the read index is part
// of the command, so the command log and raft check it too.
func TestApplyPlanResults_ReadIndexSurvivesEncoding(t *testing.T) {
	s := seeded(t)
	req := stopA2()
	req.ReadIndex = s.LatestIndex()
	payload := encode(t, req)
	clientFails(t, s, "n1", "a1")
	_, err := s.Apply(s.LatestIndex()+1, structs.ApplyPlanResultsRequestType, payload)
	must.ErrorIs(t, err, structs.ErrPlanStale)
}

// stopA2 is a plan of job1 that stops a2.
func stopA2() *structs.ApplyPlanResultsRequest {
	return &structs.ApplyPlanResultsRequest{JobID: "job1", Now: t0.Add(time.Minute),
		AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a2", Description: structs.AllocNotNeeded}}}
}

// placeOnN4 is a plan of job1 that places an alloc on n4, where the job
// has none.
func placeOnN4() *structs.ApplyPlanResultsRequest {
	a := mockAlloc("a5", "n4")
	a.ClientStatus, a.DesiredStatus = "", ""
	return &structs.ApplyPlanResultsRequest{JobID: "job1", Now: t0.Add(time.Minute), AllocsPlaced: []*structs.Allocation{a}}
}

func systemJob() *structs.Job {
	j := mockJob("sys")
	j.Type = structs.JobTypeSystem
	return j
}

// systemPlan is a plan of the system job that decides nothing.
func systemPlan() *structs.ApplyPlanResultsRequest {
	return &structs.ApplyPlanResultsRequest{JobID: "sys", Now: t0.Add(time.Minute)}
}

func clientFails(t *testing.T, s *Store, nodeID, allocID string) {
	t.Helper()
	apply(t, s, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: nodeID, UpdatedAt: t0.Add(time.Second).UnixNano(),
		Alloc: []*structs.Allocation{{ID: allocID, NodeID: nodeID, ClientStatus: structs.AllocClientStatusFailed}}})
}

func setStatus(t *testing.T, s *Store, nodeID, status string) {
	t.Helper()
	apply(t, s, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: nodeID, Status: status, UpdatedAt: t0.Add(time.Second).UnixNano()})
}
