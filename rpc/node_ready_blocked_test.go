package rpc

import (
	"fmt"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/structs"
)

// blockedEnv is the endpoints, their store and a reconcile worker over it,
// all in process on the fixture's fake clock, with counter IDs.
type blockedEnv struct {
	*fixture
	w *reconcile.Worker
}

func newBlockedEnv(t *testing.T) *blockedEnv {
	t.Helper()
	f := newFixture(t, nil)
	ids := 0
	w := reconcile.NewWorker(reconcile.WorkerConfig{Store: f.store, Clock: f.clock,
		NewID: func() string { ids++; return fmt.Sprintf("w-%d", ids) }})
	return &blockedEnv{fixture: f, w: w}
}

func (e *blockedEnv) process() int {
	e.t.Helper()
	n, err := e.w.ProcessReady()
	must.NoError(e.t, err)
	return n
}

// registerJob writes the job with its job-register evaluation, as the Job
// endpoint does.
func (e *blockedEnv) registerJob(j *structs.Job) {
	e.t.Helper()
	e.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j, UpdatedAt: e.clock.Now().UnixNano(),
		Eval: &structs.Evaluation{ID: "reg-" + j.ID, Namespace: structs.DefaultNamespace, JobID: j.ID, Type: j.Type,
			Priority: j.Priority, TriggeredBy: structs.EvalTriggerJobRegister, Status: structs.EvalStatusPending}})
}

// join registers a node through the endpoint (initializing) and heartbeats
// it to ready; it returns the evaluations the ready transition created.
func (e *blockedEnv) join(id string) []string {
	e.t.Helper()
	var reg structs.NodeUpdateResponse
	must.NoError(e.t, e.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: id, SecretID: secretOf(id),
		Datacenter: "dc1", SchedulingEligibility: structs.NodeSchedulingEligible}}, &reg))
	return e.heartbeat(id, structs.NodeStatusReady)
}

func (e *blockedEnv) heartbeat(id, status string) []string {
	e.t.Helper()
	var r structs.NodeUpdateResponse
	must.NoError(e.t, e.node.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: id, SecretID: secretOf(id), Status: status}, &r))
	return r.EvalIDs
}

func (e *blockedEnv) evalsWithStatus(status string) []*structs.Evaluation {
	e.t.Helper()
	evs, err := e.store.Evals(nil)
	must.NoError(e.t, err)
	var out []*structs.Evaluation
	for _, ev := range evs {
		if ev.Status == status {
			out = append(out, ev)
		}
	}
	return out
}

func (e *blockedEnv) liveAllocs(jobID string) []*structs.Allocation {
	e.t.Helper()
	as, err := e.store.AllocsByJob(nil, structs.DefaultNamespace, jobID)
	must.NoError(e.t, err)
	var out []*structs.Allocation
	for _, a := range as {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

// A service job registered while no node is ready is placed once a node
// becomes ready: its placements block the job, and the node's move to
// ready unblocks it in the same write as the status change.
func TestBlocked_ServiceJobPlacedWhenNodeBecomesReady(t *testing.T) {
	e := newBlockedEnv(t)
	e.registerJob(testJob("web"))
	must.Eq(t, 1, e.process())
	must.Len(t, 0, e.liveAllocs("web"))
	blocked := e.evalsWithStatus(structs.EvalStatusBlocked)
	must.Len(t, 1, blocked)
	must.Eq(t, reconcile.BlockedEvalID("", "web"), blocked[0].ID)

	before := e.store.LatestIndex()
	evals := e.join("n1")
	// Register, then ready: the second write carries the retry.
	must.Eq(t, before+2, e.store.LatestIndex())
	must.Len(t, 1, evals)
	retry, err := e.store.EvalByID(nil, evals[0])
	must.NoError(t, err)
	must.Eq(t, structs.EvalTriggerQueuedAllocs, retry.TriggeredBy)
	must.Eq(t, structs.EvalStatusPending, retry.Status)
	must.Eq(t, blocked[0].ID, retry.PreviousEval)
	must.Eq(t, "n1", retry.NodeID)
	must.Eq(t, before+2, retry.CreateIndex)
	must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusBlocked))

	must.Eq(t, 1, e.process())
	allocs := e.liveAllocs("web")
	must.Len(t, 3, allocs)
	for _, a := range allocs {
		must.Eq(t, "n1", a.NodeID)
	}
	must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusPending))
	must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusBlocked))

	// Another node becoming ready finds nothing blocked: no evaluation.
	must.Len(t, 0, e.join("n2"))
}

// A system job gets an alloc on a node that registers and becomes ready
// after it, although no alloc of the job was on that node.
func TestBlocked_SystemJobPlacedOnNodeThatBecomesReadyLater(t *testing.T) {
	e := newBlockedEnv(t)
	e.join("n1")
	sys := testJob("sys")
	sys.Type = structs.JobTypeSystem
	sys.TaskGroups[0].Count = 1
	e.registerJob(sys)
	must.Eq(t, 1, e.process())
	must.Len(t, 1, e.liveAllocs("sys"))

	evals := e.join("n2")
	must.Len(t, 1, evals)
	ev, err := e.store.EvalByID(nil, evals[0])
	must.NoError(t, err)
	must.Eq(t, structs.EvalTriggerNodeUpdate, ev.TriggeredBy)
	must.Eq(t, "sys", ev.JobID)
	must.Eq(t, structs.JobTypeSystem, ev.Type)
	must.Eq(t, "n2", ev.NodeID)

	must.Eq(t, 1, e.process())
	allocs := e.liveAllocs("sys")
	must.Len(t, 2, allocs)
	nodes := map[string]bool{}
	for _, a := range allocs {
		nodes[a.NodeID] = true
	}
	must.Eq(t, map[string]bool{"n1": true, "n2": true}, nodes)
	// A system job never blocks.
	must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusBlocked))

	// A stopped system job gets no evaluation.
	sys2 := sys.Copy()
	sys2.Stop = true
	e.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: sys2, UpdatedAt: e.clock.Now().UnixNano()})
	must.Len(t, 0, e.join("n3"))
}

// No evaluation storm: while placements cannot find a node, each node
// that becomes ready costs each blocked job one retry, and a job never has
// more than one blocked evaluation.
func TestBlocked_NoEvalStorm(t *testing.T) {
	e := newBlockedEnv(t)
	for _, id := range []string{"a", "b"} {
		e.registerJob(testJob(id))
	}
	must.Eq(t, 2, e.process())
	must.Len(t, 2, e.evalsWithStatus(structs.EvalStatusBlocked))

	for i := range 5 {
		// Ready but not eligible: the retries still find no node.
		id := fmt.Sprintf("n%d", i)
		var reg structs.NodeUpdateResponse
		must.NoError(t, e.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: id, SecretID: secretOf(id),
			SchedulingEligibility: structs.NodeSchedulingIneligible}}, &reg))
		evals := e.heartbeat(id, structs.NodeStatusReady)
		must.Len(t, 2, evals) // one retry per blocked job
		must.Len(t, 0, e.evalsWithStatus(structs.EvalStatusBlocked))
		must.Eq(t, 2, e.process())
		blocked := e.evalsWithStatus(structs.EvalStatusBlocked)
		must.Len(t, 2, blocked)
		for _, b := range blocked {
			must.Eq(t, structs.EvalTriggerQueuedAllocs, b.TriggeredBy)
		}
		must.Eq(t, 0, e.process())
		// Plain heartbeats write nothing and create nothing.
		before := e.store.LatestIndex()
		must.Len(t, 0, e.heartbeat(id, structs.NodeStatusReady))
		must.Eq(t, before, e.store.LatestIndex())
	}
	evs, err := e.store.Evals(nil)
	must.NoError(t, err)
	// 2 registrations + 2 blocked + 5 nodes x 2 retries.
	must.Len(t, 2+2+5*2, evs)
	must.Len(t, 0, e.liveAllocs("a"))
}

// A job with an alloc on the node gets its node-update evaluation; its
// blocked evaluation is completed in the same write without a second
// evaluation of the job.
func TestBlocked_JobWithAllocOnNodeGetsOneEvaluation(t *testing.T) {
	e := newBlockedEnv(t)
	e.join("n1")
	j := testJob("web")
	j.TaskGroups[0].Count = 1
	e.registerJob(j)
	must.Eq(t, 1, e.process())
	must.Len(t, 1, e.liveAllocs("web"))
	// n1, the only node, goes down: its alloc is lost and the replacement
	// finds no node.
	e.heartbeat("n1", structs.NodeStatusDown)
	must.Eq(t, 1, e.process())
	must.Len(t, 1, e.evalsWithStatus(structs.EvalStatusBlocked))

	evals := e.heartbeat("n1", structs.NodeStatusReady)
	must.Len(t, 1, evals)
	ev, err := e.store.EvalByID(nil, evals[0])
	must.NoError(t, err)
	must.Eq(t, structs.EvalTriggerNodeUpdate, ev.TriggeredBy)
	b, err := e.store.EvalByID(nil, reconcile.BlockedEvalID("", "web"))
	must.NoError(t, err)
	must.Eq(t, structs.EvalStatusComplete, b.Status)
	must.Eq(t, 1, e.process())
	must.Len(t, 1, e.liveAllocs("web"))
}

// The same calls on the same clock and IDs give the same store.
func TestBlocked_Deterministic(t *testing.T) {
	run := func() [32]byte {
		e := newBlockedEnv(t)
		e.registerJob(testJob("web"))
		sys := testJob("sys")
		sys.Type = structs.JobTypeSystem
		e.registerJob(sys)
		e.process()
		for _, id := range []string{"n2", "n1", "n3"} {
			e.join(id)
			e.process()
		}
		e.heartbeat("n1", structs.NodeStatusDown)
		e.process()
		e.heartbeat("n1", structs.NodeStatusReady)
		e.process()
		h, err := e.store.StateHash()
		must.NoError(t, err)
		return h
	}
	must.Eq(t, run(), run())
}

// BenchmarkUpdateStatus_DownThenReady measures a node's down→ready round
// trip (two writes) with many jobs in the store: becoming ready reads every
// job and looks up its blocked evaluation.
func BenchmarkUpdateStatus_DownThenReady(b *testing.B) {
	for _, jobs := range []int{0, 1000} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			f := newFixture(b, nil)
			for i := range jobs {
				f.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob(fmt.Sprintf("job-%04d", i)),
					UpdatedAt: t0.UnixNano()})
			}
			f.addNode("n1", structs.NodeStatusReady)
			req := func(status string) {
				var r structs.NodeUpdateResponse
				if err := f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: status}, &r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req(structs.NodeStatusDown)
				req(structs.NodeStatusReady)
			}
		})
	}
}
