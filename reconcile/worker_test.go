package reconcile

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/clock/clocktest"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

var wkT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// wkClock is the deterministic fake clock of package clocktest.
type wkClock = clocktest.Fake

// wkEnv is a real store, a fake clock and a worker with seeded IDs.
type wkEnv struct {
	t   *testing.T
	s   *state.Store
	clk *wkClock
	w   *Worker

	mu      sync.Mutex // protects results (OnResult may run in Run's goroutine)
	results []wkResult
	metrics wkCounters
}

// wkCounters is a Metrics that keeps its counters.
type wkCounters struct {
	mu sync.Mutex // protects n
	n  map[string]int
}

func (c *wkCounters) IncrCounter(name string, v int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name] += v
}

func (c *wkCounters) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

type wkResult struct {
	eval string
	res  *Results
}

func wkNew(t *testing.T) *wkEnv {
	t.Helper()
	s, err := state.NewStore(nil)
	must.NoError(t, err)
	e := &wkEnv{t: t, s: s, clk: clocktest.NewFake(wkT0)}
	e.w = NewWorker(WorkerConfig{Store: s, Clock: e.clk, NewID: apSeqIDs("w"), Metrics: &e.metrics,
		OnResult: func(ev *structs.Evaluation, _ Input, res *Results, _ ApplyOutcome) {
			e.mu.Lock()
			e.results = append(e.results, wkResult{eval: ev.ID, res: res})
			e.mu.Unlock()
		}})
	return e
}

func (e *wkEnv) apply(typ structs.MessageType, req any) uint64 {
	e.t.Helper()
	idx, _, err := e.s.ApplyCommand(typ, req)
	must.NoError(e.t, err)
	return idx
}

func (e *wkEnv) node(id, status string) {
	e.t.Helper()
	e.apply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: apNode(id, status), UpdatedAt: e.clk.Now().UnixNano()})
}

func wkJob(id string, count int) *structs.Job {
	return &structs.Job{ID: id, Namespace: structs.DefaultNamespace, Type: structs.JobTypeService, Priority: 50,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: count,
			Disconnect: &structs.DisconnectStrategy{LostAfter: 5 * time.Minute}}}}
}

func wkEval(id, jobID, trigger string) *structs.Evaluation {
	return &structs.Evaluation{ID: id, Namespace: structs.DefaultNamespace, JobID: jobID, Type: structs.JobTypeService,
		TriggeredBy: trigger, Status: structs.EvalStatusPending}
}

func (e *wkEnv) job(j *structs.Job, evalID string) {
	e.t.Helper()
	var ev *structs.Evaluation
	if evalID != "" {
		ev = wkEval(evalID, j.ID, structs.EvalTriggerJobRegister)
	}
	e.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j, Eval: ev, UpdatedAt: e.clk.Now().UnixNano()})
}

func (e *wkEnv) evals(evs ...*structs.Evaluation) {
	e.t.Helper()
	e.apply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evs})
}

func (e *wkEnv) process() int {
	e.t.Helper()
	n, err := e.w.ProcessReady()
	must.NoError(e.t, err)
	return n
}

func (e *wkEnv) eval(id string) *structs.Evaluation {
	e.t.Helper()
	ev, err := e.s.EvalByID(nil, id)
	must.NoError(e.t, err)
	must.NotNil(e.t, ev, must.Sprintf("eval %s", id))
	return ev
}

func (e *wkEnv) alloc(id string) *structs.Allocation {
	e.t.Helper()
	a, err := e.s.AllocByID(nil, id)
	must.NoError(e.t, err)
	must.NotNil(e.t, a, must.Sprintf("alloc %s", id))
	return a
}

func (e *wkEnv) jobAllocs(jobID string) []*structs.Allocation {
	e.t.Helper()
	as, err := e.s.AllocsByJob(nil, "", jobID)
	must.NoError(e.t, err)
	return as
}

func (e *wkEnv) clientUpdate(nodeID, allocID, status string, evals ...*structs.Evaluation) {
	e.t.Helper()
	idx, res, err := e.s.ApplyCommand(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: nodeID,
		Alloc: []*structs.Allocation{{ID: allocID, ClientStatus: status}}, Evals: evals, UpdatedAt: e.clk.Now().UnixNano()})
	must.NoError(e.t, err)
	must.Positive(e.t, idx)
	must.Eq(e.t, []string{allocID}, res.(*structs.AllocUpdateResult).Applied)
}

// runningWeb places job "web" (count 1, evaluation ev0) on ready nodes
// (n1 unless others are named) and returns its alloc, reported running.
func (e *wkEnv) runningWeb(nodes ...string) *structs.Allocation {
	e.t.Helper()
	if len(nodes) == 0 {
		nodes = []string{"n1"}
	}
	for _, n := range nodes {
		e.node(n, structs.NodeStatusReady)
	}
	e.job(wkJob("web", 1), "ev0")
	must.Eq(e.t, 1, e.process())
	a := e.jobAllocs("web")[0]
	e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning)
	return a
}

// rescheduledBy asserts that res replaced the failed alloc a and that
// evaluation evalID completed.
func (e *wkEnv) rescheduledBy(res *Results, a *structs.Allocation, evalID string) {
	e.t.Helper()
	must.SliceLen(e.t, 1, res.Place)
	must.Eq(e.t, a.ID, res.Place[0].PreviousAllocation)
	must.Eq(e.t, structs.EvalStatusComplete, e.eval(evalID).Status)
	must.NotEq(e.t, "", e.alloc(a.ID).NextAllocation)
}

func (e *wkEnv) nodeStatus(nodeID, status string, evals ...*structs.Evaluation) {
	e.t.Helper()
	e.apply(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: nodeID, Status: status,
		UpdatedAt: e.clk.Now().UnixNano(), Evals: evals})
}

func (e *wkEnv) resultCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.results)
}

// notPendingOrFailed asserts every evaluation is complete or canceled.
func (e *wkEnv) noEvalPendingOrFailed() {
	e.t.Helper()
	evs, err := e.s.Evals(nil)
	must.NoError(e.t, err)
	for _, ev := range evs {
		must.True(e.t, ev.Status == structs.EvalStatusComplete || ev.Status == structs.EvalStatusCanceled,
			must.Sprintf("eval %s (%s) is %s: %s", ev.ID, ev.TriggeredBy, ev.Status, ev.StatusDescription))
	}
}

func TestWorker_PlacesForNewJob(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.node("n2", structs.NodeStatusReady)
	e.job(wkJob("web", 2), "ev1")
	must.Eq(t, 1, e.process())
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
	allocs := e.jobAllocs("web")
	must.Len(t, 2, allocs)
	nodes := []string{allocs[0].NodeID, allocs[1].NodeID}
	slices.Sort(nodes)
	must.Eq(t, []string{"n1", "n2"}, nodes)
	for _, a := range allocs {
		must.Eq(t, "ev1", a.EvalID)
		must.Eq(t, wkT0.UnixNano(), a.CreateTime)
	}
	// Nothing left: a second pass does nothing.
	must.Eq(t, 0, e.process())
}

func TestWorker_DeduplicatesPerJob(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	e.job(wkJob("api", 1), "")
	e.evals(wkEval("w3", "web", structs.EvalTriggerNodeUpdate), wkEval("a1", "api", structs.EvalTriggerNodeUpdate))
	e.evals(wkEval("w1", "web", structs.EvalTriggerNodeUpdate), wkEval("w2", "web", structs.EvalTriggerNodeUpdate))
	before := e.s.LatestIndex()

	must.Eq(t, 4, e.process())
	// One run and one write per job.
	must.Eq(t, before+2, e.s.LatestIndex())
	must.Eq(t, 2, e.resultCount())
	// Oldest eval drives each job: a1 and w3 were written first (a1 < w3).
	must.Eq(t, []string{"a1", "w3"}, []string{e.results[0].eval, e.results[1].eval})
	for _, id := range []string{"w1", "w2"} {
		ev := e.eval(id)
		must.Eq(t, structs.EvalStatusComplete, ev.Status)
		must.StrContains(t, ev.StatusDescription, "w3")
	}
	must.Eq(t, structs.EvalStatusComplete, e.eval("w3").Status)
	must.Len(t, 1, e.jobAllocs("web"))
	must.Len(t, 1, e.jobAllocs("api"))
}

func TestWorker_DelayedEvalReleasedExactlyAtWaitUntil(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	at := wkT0.Add(5 * time.Minute)
	d := wkEval("later", "web", structs.EvalTriggerMaxDisconnectTimeout)
	d.WaitUntil = at
	e.evals(d)

	must.Eq(t, 0, e.process())
	r, h := e.w.Pending()
	must.Eq(t, [2]int{0, 1}, [2]int{r, h})
	must.Eq(t, structs.EvalStatusPending, e.eval("later").Status)

	e.clk.Set(at.Add(-time.Nanosecond))
	r, h = e.w.Pending()
	must.Eq(t, [2]int{0, 1}, [2]int{r, h})
	must.Eq(t, 0, e.process())

	e.clk.Advance(time.Nanosecond)
	r, h = e.w.Pending()
	must.Eq(t, [2]int{1, 0}, [2]int{r, h})
	must.Eq(t, 1, e.process())
	must.Eq(t, structs.EvalStatusComplete, e.eval("later").Status)
	r, h = e.w.Pending()
	must.Eq(t, [2]int{0, 0}, [2]int{r, h})
}

func TestWorker_EnqueueHoldsAndDeduplicates(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	now := wkEval("now", "web", structs.EvalTriggerNodeUpdate)
	later := wkEval("later", "web", structs.EvalTriggerAllocReschedule)
	later.WaitUntil = wkT0.Add(time.Minute)
	done := wkEval("done", "web", structs.EvalTriggerNodeUpdate)
	done.Status = structs.EvalStatusComplete
	e.evals(now, later)

	e.w.Enqueue(now, later, now, done, nil)
	r, h := e.w.Pending()
	must.Eq(t, [2]int{1, 1}, [2]int{r, h})
	// The store scan finds the same evals: nothing is queued twice.
	must.NoError(t, e.w.SyncFromStore())
	r, h = e.w.Pending()
	must.Eq(t, [2]int{1, 1}, [2]int{r, h})
	must.Eq(t, 1, e.process())
	e.clk.Advance(time.Minute)
	must.Eq(t, 1, e.process())
	e.noEvalPendingOrFailed()
}

func TestWorker_CanceledHeldEvalIsDropped(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	d := wkEval("timeout", "web", structs.EvalTriggerMaxDisconnectTimeout)
	d.WaitUntil = wkT0.Add(5 * time.Minute)
	e.evals(d)
	must.NoError(t, e.w.SyncFromStore())
	must.Eq(t, 1, e.clk.Armed())

	c := d.Copy()
	c.Status = structs.EvalStatusCanceled
	e.evals(c)
	must.NoError(t, e.w.SyncFromStore())
	r, h := e.w.Pending()
	must.Eq(t, [2]int{0, 0}, [2]int{r, h})
	must.Eq(t, 0, e.clk.Armed())
	e.clk.Advance(10 * time.Minute)
	must.Eq(t, 0, e.process())
	must.Eq(t, structs.EvalStatusCanceled, e.eval("timeout").Status)
}

func TestWorker_EvalCanceledWhileReadyIsSkipped(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	ev := wkEval("x", "web", structs.EvalTriggerNodeUpdate)
	e.evals(ev)
	must.NoError(t, e.w.SyncFromStore())
	c := ev.Copy()
	c.Status = structs.EvalStatusCanceled
	e.evals(c)
	before := e.s.LatestIndex()
	must.Eq(t, 0, e.process())
	must.Eq(t, before, e.s.LatestIndex())
	must.Eq(t, 0, e.resultCount())
}

func TestWorker_JobDeletedCompletesEval(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	e.apply(structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{JobID: "web", Purge: true})
	e.evals(wkEval("e1", "web", structs.EvalTriggerJobDeregister), wkEval("e2", "web", structs.EvalTriggerNodeUpdate))
	allocsIdx := e.s.Index(state.TableAllocs)

	must.Eq(t, 2, e.process())
	for _, id := range []string{"e1", "e2"} {
		ev := e.eval(id)
		must.Eq(t, structs.EvalStatusComplete, ev.Status)
		must.Eq(t, "job no longer exists", ev.StatusDescription)
	}
	must.Eq(t, allocsIdx, e.s.Index(state.TableAllocs))
	must.Eq(t, 0, e.resultCount())
}

func TestWorker_StaleSnapshotIsReRun(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.node("n2", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "ev0")
	e.job(wkJob("other", 1), "ev1")
	must.Eq(t, 2, e.process())
	a := e.jobAllocs("web")[0]
	e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning)
	o := e.jobAllocs("other")[0]

	// A write to another job between snapshot and apply is not a reason
	// to re-run.
	var attempts []int
	e.w.beforeApply = func(attempt int) {
		attempts = append(attempts, attempt)
		if attempt == 1 {
			e.clientUpdate(o.NodeID, o.ID, structs.AllocClientStatusRunning)
		}
	}
	e.evals(wkEval("ev2", "web", structs.EvalTriggerNodeUpdate))
	must.Eq(t, 1, e.process())
	must.Eq(t, []int{1}, attempts)

	// The job's alloc fails between snapshot and apply: the first run saw
	// it running and decided nothing; applying that would complete the
	// eval and leave the failure unhandled. The re-run reschedules it.
	attempts = nil
	e.w.beforeApply = func(attempt int) {
		attempts = append(attempts, attempt)
		if attempt == 1 {
			e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusFailed)
		}
	}
	e.evals(wkEval("ev3", "web", structs.EvalTriggerNodeUpdate))
	n0 := e.resultCount()
	must.Eq(t, 1, e.process())
	must.Eq(t, []int{1, 2}, attempts)
	must.Eq(t, n0+1, e.resultCount())
	last := e.results[len(e.results)-1]
	must.Eq(t, "ev3", last.eval)
	e.rescheduledBy(last.res, a, "ev3")
}

func TestWorker_StoreThatKeepsChangingBacksOff(t *testing.T) {
	e := wkNew(t)
	a := e.runningWeb()

	calls := 0
	e.w.beforeApply = func(int) {
		calls++
		e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning)
	}
	e.evals(wkEval("ev1", "web", structs.EvalTriggerNodeUpdate))
	must.Eq(t, 0, e.process())
	must.Eq(t, staleAttempts, calls)
	must.Eq(t, staleAttempts, e.metrics.get(MetricPlanStale))
	must.Eq(t, 1, e.metrics.get(MetricKeptChanging))
	must.Eq(t, structs.EvalStatusPending, e.eval("ev1").Status)
	r, h := e.w.Pending()
	must.Eq(t, [2]int{0, 1}, [2]int{r, h})

	e.w.beforeApply = nil
	e.clk.Advance(staleBackoff)
	must.Eq(t, 1, e.process())
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
}

// wkFailingStore fails plan writes.
type wkFailingStore struct {
	*state.Store
	err error
}

func (s wkFailingStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if t == structs.ApplyPlanResultsRequestType {
		return 0, nil, s.err
	}
	return s.Store.ApplyCommand(t, req)
}

func TestWorker_WriteErrorFailsEvalOnce(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "ev0")
	boom := errors.New("disk on fire")
	w := NewWorker(WorkerConfig{Store: wkFailingStore{e.s, boom}, Clock: e.clk})
	n, err := w.ProcessReady()
	must.ErrorIs(t, err, boom)
	must.Eq(t, 0, n)
	ev := e.eval("ev0")
	must.Eq(t, structs.EvalStatusFailed, ev.Status)
	must.StrContains(t, ev.StatusDescription, "disk on fire")
	// Not retried in a loop: the next pass has nothing to do.
	n, err = w.ProcessReady()
	must.NoError(t, err)
	must.Eq(t, 0, n)
}

func TestWorker_ProcessReadyIsDeterministic(t *testing.T) {
	run := func(reverse bool) []string {
		e := wkNew(t)
		var log []string
		e.s.SetCommandSink(func(index uint64, typ structs.MessageType, payload []byte) {
			log = append(log, typ.String()+":"+string(payload))
		})
		for _, n := range []string{"n1", "n2", "n3"} {
			e.node(n, structs.NodeStatusReady)
		}
		jobs := []string{"a", "b", "c", "d"}
		if reverse {
			slices.Reverse(jobs)
		}
		for _, j := range jobs {
			e.job(wkJob(j, 2), "")
		}
		// Same evaluations, written in the same order: IDs decide.
		var evs []*structs.Evaluation
		for _, j := range []string{"d", "c", "b", "a"} {
			evs = append(evs, wkEval("e-"+j, j, structs.EvalTriggerJobRegister), wkEval("f-"+j, j, structs.EvalTriggerNodeUpdate))
		}
		e.evals(evs...)
		if reverse {
			// Enqueued before the scan (as the store has them): same order.
			e.w.Enqueue(e.eval("f-a"), e.eval("e-d"))
		}
		must.Eq(t, 8, e.process())
		// Drop the job registrations, whose order differed.
		return log[3+len(jobs)+1:]
	}
	must.Eq(t, run(false), run(true))
}

func TestWorker_RunProcessesInBackground(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	got := make(chan string, 8)
	e.w.onResult = func(ev *structs.Evaluation, _ Input, _ *Results, _ ApplyOutcome) { got <- ev.ID }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.w.Run(ctx) }()

	// A new evaluation in the store wakes the blocking query.
	e.evals(wkEval("now", "web", structs.EvalTriggerNodeUpdate))
	must.Eq(t, "now", <-got)
	// A delayed one is released by the clock. The worker may or may not
	// have scanned it before the clock moves; either way it runs once.
	later := wkEval("later", "web", structs.EvalTriggerMaxDisconnectTimeout)
	later.WaitUntil = wkT0.Add(time.Minute)
	e.evals(later)
	e.clk.Advance(time.Minute)
	must.Eq(t, "later", <-got)
	// A held eval released by its timer alone (no store write) wakes Run:
	// hold it via Enqueue, which the store never sees until processed.
	held := wkEval("held", "web", structs.EvalTriggerAllocReschedule)
	held.WaitUntil = wkT0.Add(2 * time.Minute)
	e.w.Enqueue(held)
	e.clk.Advance(time.Minute)
	must.Eq(t, "held", <-got)

	cancel()
	must.NoError(t, <-done)
	must.Eq(t, structs.EvalStatusComplete, e.eval("later").Status)
	select {
	case id := <-got:
		t.Fatalf("unexpected extra result for %s", id)
	default:
	}
}

func TestWorker_RunNeedsBlockingStore(t *testing.T) {
	s, err := state.NewStore(nil)
	must.NoError(t, err)
	w := NewWorker(WorkerConfig{Store: wkPlainStore{s}})
	must.ErrorIs(t, w.Run(context.Background()), structs.ErrInvalidRequest)
}

// wkPlainStore has only WorkerStore's methods.
type wkPlainStore struct{ s *state.Store }

func (p wkPlainStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	return p.s.ApplyCommand(t, req)
}
func (p wkPlainStore) Snapshot() *state.Snapshot { return p.s.Snapshot() }

// TestWorker_ReconnectLeavesNothingPending is the quality bar: after a
// reconnect no follow-up evaluation is left pending for the reconnected
// alloc, no evaluation fails or blocks because of it, and the alloc is not
// treated as reconnecting again.
func TestWorker_ReconnectLeavesNothingPending(t *testing.T) {
	for _, tc := range []struct {
		name          string
		originalScore float64
		keepOriginal  bool
	}{
		{name: "equal scores keep the original", originalScore: 1, keepOriginal: true},
		{name: "higher-scoring running replacement wins", originalScore: 0.2, keepOriginal: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wkNew(t)
			e.node("n1", structs.NodeStatusReady)
			e.node("n2", structs.NodeStatusReady)
			e.job(wkJob("web", 1), "")
			orig := apAlloc("A", "web.web[0]", "n1", structs.AllocClientStatusPending)
			orig.JobID, orig.JobVersion = "web", 0
			orig.Metrics.ScoreMetaData[0].NormScore = tc.originalScore
			e.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: wkT0, AllocsPlaced: []*structs.Allocation{orig}})
			e.clientUpdate("n1", "A", structs.AllocClientStatusRunning)
			must.Eq(t, 0, e.process())

			// n1 stops heartbeating: disconnected, with a node-update eval.
			e.clk.Advance(time.Minute)
			tDisc := e.clk.Now()
			e.nodeStatus("n1", structs.NodeStatusDisconnected, wkEval("nu-1", "web", structs.EvalTriggerNodeUpdate))
			must.Eq(t, 1, e.process())
			a := e.alloc("A")
			must.Eq(t, structs.AllocClientStatusUnknown, a.ClientStatus)
			must.True(t, a.NeedsToReconnect())
			timeout := e.eval(a.FollowupEvalID)
			must.Eq(t, structs.EvalTriggerMaxDisconnectTimeout, timeout.TriggeredBy)
			must.Eq(t, structs.EvalStatusPending, timeout.Status)
			must.Eq(t, tDisc.Add(5*time.Minute), timeout.WaitUntil)
			must.Eq(t, "nu-1", timeout.PreviousEval)
			repl := e.alloc(a.NextAllocation)
			must.Eq(t, "n2", repl.NodeID)
			must.Eq(t, "A", repl.PreviousAllocation)
			must.False(t, repl.NeedsToReconnect())
			r, h := e.w.Pending()
			must.Eq(t, [2]int{0, 1}, [2]int{r, h})
			e.clientUpdate("n2", repl.ID, structs.AllocClientStatusRunning)

			// n1 heartbeats again: ready. Its client has not reported A yet,
			// so the reconciler waits (no decision, no failure).
			e.clk.Advance(2 * time.Minute)
			e.nodeStatus("n1", structs.NodeStatusReady, wkEval("nu-2", "web", structs.EvalTriggerNodeUpdate))
			must.Eq(t, 1, e.process())
			must.Eq(t, structs.EvalStatusComplete, e.eval("nu-2").Status)
			must.True(t, e.alloc("A").NeedsToReconnect())
			must.Eq(t, structs.AllocDesiredStatusRun, e.alloc(repl.ID).DesiredStatus)

			// The client reports A running: the timeout is canceled in the
			// same write, which also creates the reconnect evaluation.
			e.clk.Advance(10 * time.Second)
			tSync := e.clk.Now()
			e.clientUpdate("n1", "A", structs.AllocClientStatusRunning, wkEval("rc-1", "web", structs.EvalTriggerReconnect))
			must.Eq(t, structs.EvalStatusCanceled, e.eval(timeout.ID).Status)
			must.Eq(t, "", e.alloc("A").FollowupEvalID)
			must.Eq(t, 1, e.process())
			r, h = e.w.Pending()
			must.Eq(t, [2]int{0, 0}, [2]int{r, h})
			must.Eq(t, 0, e.clk.Armed())

			a, rp := e.alloc("A"), e.alloc(repl.ID)
			if tc.keepOriginal {
				must.Eq(t, structs.AllocDesiredStatusRun, a.DesiredStatus)
				must.Eq(t, structs.AllocDesiredStatusStop, rp.DesiredStatus)
				must.Eq(t, structs.AllocReconnected, rp.DesiredDescription)
				must.Eq(t, []structs.AllocState{
					{Value: structs.AllocClientStatusUnknown, Time: tDisc},
					{Value: structs.AllocClientStatusRunning, Time: tSync},
				}, []structs.AllocState{*a.AllocStates[0], *a.AllocStates[1]})
				must.Len(t, 2, a.AllocStates)
				must.False(t, a.NeedsToReconnect())
			} else {
				must.Eq(t, structs.AllocDesiredStatusStop, a.DesiredStatus)
				must.Eq(t, structs.AllocNotNeeded, a.DesiredDescription)
				must.Eq(t, structs.AllocDesiredStatusRun, rp.DesiredStatus)
			}

			// Time passes beyond every WaitUntil: nothing comes due, nothing
			// is pending or failed.
			e.clk.Advance(time.Hour)
			must.Eq(t, 0, e.process())
			e.noEvalPendingOrFailed()

			// Later evaluations of the job see a normal alloc: no decision.
			nStates := len(e.alloc("A").AllocStates)
			e.evals(wkEval("nu-3", "web", structs.EvalTriggerNodeUpdate))
			must.Eq(t, 1, e.process())
			last := e.results[len(e.results)-1]
			must.Eq(t, "nu-3", last.eval)
			must.SliceEmpty(t, last.res.Reconnect)
			must.SliceEmpty(t, last.res.Stop)
			must.SliceEmpty(t, last.res.Place)
			must.SliceEmpty(t, last.res.FollowUps)
			must.Eq(t, nStates, len(e.alloc("A").AllocStates))
			e.noEvalPendingOrFailed()
		})
	}
}

// wkRacingStore runs race just before the first plan write reaches the
// store: a write that lands after everything the worker checked, as a
// client's update can on a live server.
type wkRacingStore struct {
	*state.Store
	race func()
}

func (s *wkRacingStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if t == structs.ApplyPlanResultsRequestType && s.race != nil {
		race := s.race
		s.race = nil
		race()
	}
	return s.Store.ApplyCommand(t, req)
}

// TestWorker_WriteRacingThePlanIsCaught: the staleness check is part of the
// plan's write, so even a write landing at the last moment is seen. Here
// the job's only alloc fails just before a plan that decided nothing is
// written: that plan would complete the eval and leave the failure
// unhandled. It is rejected and the re-run reschedules the alloc.
func TestWorker_WriteRacingThePlanIsCaught(t *testing.T) {
	e := wkNew(t)
	a := e.runningWeb("n1", "n2")

	var results []*Results
	var counters wkCounters
	rs := &wkRacingStore{Store: e.s, race: func() { e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusFailed) }}
	w := NewWorker(WorkerConfig{Store: rs, Clock: e.clk, NewID: apSeqIDs("r"), Metrics: &counters,
		OnResult: func(_ *structs.Evaluation, _ Input, res *Results, _ ApplyOutcome) { results = append(results, res) }})
	e.evals(wkEval("ev1", "web", structs.EvalTriggerNodeUpdate))
	n, err := w.ProcessReady()
	must.NoError(t, err)
	must.Eq(t, 1, n)
	must.Nil(t, rs.race) // the race ran
	must.Eq(t, 1, counters.get(MetricPlanStale))
	must.Eq(t, 0, counters.get(MetricKeptChanging))
	must.SliceLen(t, 1, results)
	e.rescheduledBy(results[0], a, "ev1")
}

// TestApply_ReadIndex: Apply's write is conditional on ApplyConfig.ReadIndex,
// for an embedder that runs Compute on its own snapshots.
func TestApply_ReadIndex(t *testing.T) {
	e := wkNew(t)
	a := e.runningWeb()
	e.job(wkJob("web", 2), "") // one more to place

	snap := e.s.Snapshot()
	job, err := snap.JobByID(nil, structs.DefaultNamespace, "web")
	must.NoError(t, err)
	in, err := buildInput(snap, job, "", e.clk.Now(), storeNodes(snap))
	must.NoError(t, err)
	res := Compute(in)
	must.SliceNotEmpty(t, res.Place)
	nodes, err := snap.Nodes(nil)
	must.NoError(t, err)

	e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning) // lands after the snapshot
	latest := e.s.LatestIndex()
	_, err = Apply(e.s, nodes, in, res, ApplyConfig{NewID: apSeqIDs("x"), ReadIndex: snap.LatestIndex()})
	must.ErrorIs(t, err, structs.ErrPlanStale)
	must.Eq(t, latest, e.s.LatestIndex())
	must.SliceLen(t, 1, e.jobAllocs("web"))

	out, err := Apply(e.s, nodes, in, res, ApplyConfig{NewID: apSeqIDs("x")})
	must.NoError(t, err)
	must.Positive(t, out.Placed)
	must.Eq(t, len(res.Place), out.Placed+out.Unplaced)
	must.SliceLen(t, 1+out.Placed, e.jobAllocs("web"))
}
