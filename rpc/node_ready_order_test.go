package rpc

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/structs"
)

// A node becoming ready reads only the system jobs and the blocked
// evaluations, yet writes what visiting every job in (namespace, ID) order
// would: each job's system evaluation before its unblocking, a system job
// that gets an evaluation anyway has its blocked one only completed, and a
// blocked evaluation of a job the store lacks, or not under the job's
// BlockedEvalID, is left alone.
func TestNodeReady_UnblocksInJobOrder(t *testing.T) {
	e := newBlockedEnv(t)
	sys := func(id string, stop bool) *structs.Job {
		j := testJob(id)
		j.Type, j.Stop = structs.JobTypeSystem, stop
		return j
	}
	for _, j := range []*structs.Job{testJob("d"), sys("c", false), testJob("a"), sys("b", true), sys("e", false)} {
		e.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j, UpdatedAt: e.clock.Now().UnixNano()})
	}
	blocked := func(id, jobID string) *structs.Evaluation {
		return &structs.Evaluation{ID: id, Namespace: structs.DefaultNamespace, JobID: jobID, Type: structs.JobTypeService,
			Priority: 70, TriggeredBy: structs.EvalTriggerQueuedAllocs, Status: structs.EvalStatusBlocked}
	}
	bid := func(jobID string) string { return reconcile.BlockedEvalID("", jobID) }
	e.apply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		blocked(bid("d"), "d"), blocked(bid("a"), "a"), blocked(bid("e"), "e"), blocked(bid("gone"), "gone"),
		blocked("not-derived", "a"),
	}})

	ids := e.join("n1")
	var got [][2]string
	for _, id := range ids {
		ev, err := e.store.EvalByID(nil, id)
		must.NoError(t, err)
		got = append(got, [2]string{ev.JobID, ev.TriggeredBy})
	}
	must.Eq(t, [][2]string{
		{"a", structs.EvalTriggerQueuedAllocs},
		{"c", structs.EvalTriggerNodeUpdate},
		{"d", structs.EvalTriggerQueuedAllocs},
		{"e", structs.EvalTriggerNodeUpdate}, // and no retry of its own
	}, got)
	status := func(id string) string {
		ev, err := e.store.EvalByID(nil, id)
		must.NoError(t, err)
		return ev.Status
	}
	must.Eq(t, structs.EvalStatusComplete, status(bid("a")))
	must.Eq(t, structs.EvalStatusComplete, status(bid("d")))
	must.Eq(t, structs.EvalStatusComplete, status(bid("e")))
	must.Eq(t, structs.EvalStatusBlocked, status(bid("gone")))
	must.Eq(t, structs.EvalStatusBlocked, status("not-derived"))
}
