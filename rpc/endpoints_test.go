package rpc

import (
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestUpdateAlloc_PerAllocSkipsApplyTheRest(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.addJob("web")
	f.place(
		testAlloc("a1", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("lost", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("done", "web", "n1", structs.AllocClientStatusComplete),
	)
	// The server marked "lost" lost while the client was cut off.
	f.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: f.clock.Now(),
		AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "lost", ClientStatus: structs.AllocClientStatusLost}}})
	lostBefore := f.alloc("lost")

	var reply structs.AllocUpdateResponse
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"),
		report("gc-ed", structs.AllocClientStatusRunning), // garbage-collected
		report("lost", structs.AllocClientStatusRunning),  // never resurrected
		report("a1", structs.AllocClientStatusComplete),   // applies
		report("done", structs.AllocClientStatusComplete), // terminal, same status: applies
	), &reply))
	must.Eq(t, f.store.LatestIndex(), reply.Index)
	must.Eq(t, []*structs.AllocUpdateSkip{
		{AllocID: "gc-ed", NodeID: "n1", Reason: structs.SkipUnknownAlloc},
		{AllocID: "lost", NodeID: "n1", Reason: structs.SkipClientTerminal},
	}, reply.Skipped)
	must.Eq(t, structs.AllocClientStatusComplete, f.alloc("a1").ClientStatus)
	must.Eq(t, "client says complete", f.alloc("done").ClientDescription)
	must.Eq(t, lostBefore, f.alloc("lost"))
	_, err := f.store.AllocByID(nil, "gc-ed")
	must.NoError(t, err)
}

func TestUpdateAlloc_AllSkippedWritesNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	before := f.dump()
	var reply structs.AllocUpdateResponse
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"), report("gone", structs.AllocClientStatusRunning)), &reply))
	must.Eq(t, before, f.dump())
	must.Eq(t, before.Latest, reply.Index)
	must.Len(t, 1, reply.Skipped)
	must.Eq(t, structs.SkipUnknownAlloc, reply.Skipped[0].Reason)
}

func TestUpdateAlloc_Evaluations(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.addJob("web")
	f.addJob("api")
	f.place(
		testAlloc("w1", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("w2", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("p1", "api", "n1", structs.AllocClientStatusRunning),
		testAlloc("p2", "api", "n1", structs.AllocClientStatusRunning),
	)
	// w1 and w2 were marked unknown together (one job): one reconnect eval.
	f.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: f.clock.Now(),
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "w1"}, {AllocID: "w2"}}})

	var reply structs.AllocUpdateResponse
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"),
		report("w1", structs.AllocClientStatusRunning),
		report("w2", structs.AllocClientStatusRunning),
		report("p1", structs.AllocClientStatusFailed),
		report("p2", structs.AllocClientStatusFailed),
	), &reply))

	rec := f.evalsBy(structs.EvalTriggerReconnect)
	must.Len(t, 1, rec)
	must.Eq(t, "web", rec[0].JobID)
	must.Eq(t, reply.Index, rec[0].CreateIndex) // same write as the update
	fail := f.evalsBy(structs.EvalTriggerRetryFailedAlloc)
	must.Len(t, 1, fail)
	must.Eq(t, "api", fail[0].JobID)
	must.Eq(t, structs.JobTypeService, fail[0].Type)

	// Reporting failed again creates no second alloc-failure eval.
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"), report("p1", structs.AllocClientStatusFailed)), &reply))
	must.Len(t, 1, f.evalsBy(structs.EvalTriggerRetryFailedAlloc))
}

func TestUpdateStatus_HeartbeatAndTransitions(t *testing.T) {
	f := newFixture(t, nil)
	f.addJob("web")
	f.addJob("api")
	var reg structs.NodeUpdateResponse
	must.NoError(t, f.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1", SecretID: secretOf("n1")}}, &reg))
	must.Eq(t, structs.NodeStatusInit, f.nodeStatus("n1"))
	f.place(testAlloc("w1", "web", "n1", structs.AllocClientStatusPending),
		testAlloc("w2", "web", "n1", structs.AllocClientStatusPending),
		testAlloc("p1", "api", "n1", structs.AllocClientStatusPending))

	hb := func(status string) structs.NodeUpdateResponse {
		t.Helper()
		var r structs.NodeUpdateResponse
		must.NoError(t, f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{
			NodeID: "n1", SecretID: secretOf("n1"), Status: status}, &r))
		return r
	}

	// A plain heartbeat writes nothing and restarts the timer.
	before := f.dump()
	r := hb(structs.NodeStatusInit)
	must.Eq(t, before, f.dump())
	must.Eq(t, testTTL, r.HeartbeatTTL)
	must.SliceEmpty(t, r.EvalIDs)
	resets, _ := f.hb.counts("n1")
	must.Eq(t, 2, resets) // Register + heartbeat

	// initializing -> ready: one write, one node-update eval per job.
	r = hb(structs.NodeStatusReady)
	must.Eq(t, before.Latest+1, f.store.LatestIndex())
	must.Eq(t, f.store.LatestIndex(), r.Index)
	must.Len(t, 2, r.EvalIDs)
	evals := f.evalsBy(structs.EvalTriggerNodeUpdate)
	must.Len(t, 2, evals)
	for _, e := range evals {
		must.Eq(t, "n1", e.NodeID)
		must.Eq(t, r.Index, e.CreateIndex)
	}

	// ready -> ready is a heartbeat again.
	idx := f.store.LatestIndex()
	r = hb(structs.NodeStatusReady)
	must.Eq(t, idx, f.store.LatestIndex())
	must.Eq(t, idx, r.Index)

	// ready -> down stops the timer and creates evals.
	r = hb(structs.NodeStatusDown)
	must.Eq(t, time.Duration(0), r.HeartbeatTTL)
	_, clears := f.hb.counts("n1")
	must.Eq(t, 1, clears)
	must.Len(t, 2, r.EvalIDs)
	must.Eq(t, structs.NodeStatusDown, f.nodeStatus("n1"))

	// down -> ready.
	r = hb(structs.NodeStatusReady)
	must.Eq(t, testTTL, r.HeartbeatTTL)
	must.Len(t, 2, r.EvalIDs)
	must.Len(t, 6, f.evalsBy(structs.EvalTriggerNodeUpdate))
}

func TestUpdateStatus_HeartbeatTimerErrorIsInternal(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.hb.err = errors.New("not the leader")
	var r structs.NodeUpdateResponse
	err := f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}, &r)
	must.ErrorIs(t, err, ErrInternal)
	must.StrContains(t, err.Error(), "not the leader")
}

func TestRegister_NewAndReregister(t *testing.T) {
	f := newFixture(t, nil)
	var r structs.NodeUpdateResponse
	// A new node starts initializing whatever status it claims.
	must.NoError(t, f.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{
		ID: "n1", SecretID: secretOf("n1"), Name: "first", Status: structs.NodeStatusReady,
		LastAllocUpdateIndex: 99}}, &r))
	must.Eq(t, testTTL, r.HeartbeatTTL)
	must.Eq(t, f.store.LatestIndex(), r.Index)
	n, _ := f.store.NodeByID(nil, "n1")
	must.Eq(t, structs.NodeStatusInit, n.Status)
	must.Eq(t, uint64(0), n.LastAllocUpdateIndex)
	must.Eq(t, secretOf("n1"), n.SecretID)

	// Once ready, re-registering keeps the status and updates the rest.
	f.setNodeStatus("n1", structs.NodeStatusReady)
	must.NoError(t, f.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{
		ID: "n1", SecretID: secretOf("n1"), Name: "second", Status: structs.NodeStatusInit}}, &r))
	n, _ = f.store.NodeByID(nil, "n1")
	must.Eq(t, structs.NodeStatusReady, n.Status)
	must.Eq(t, "second", n.Name)
	resets, _ := f.hb.counts("n1")
	must.Eq(t, 2, resets)

	// A down node re-registering stays down and gets no timer.
	f.setNodeStatus("n1", structs.NodeStatusDown)
	must.NoError(t, f.node.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1", SecretID: secretOf("n1")}}, &r))
	must.Eq(t, structs.NodeStatusDown, f.nodeStatus("n1"))
	must.Eq(t, time.Duration(0), r.HeartbeatTTL)
	_, clears := f.hb.counts("n1")
	must.Eq(t, 1, clears)
}

func TestGetClientAllocs_OwnAllocsAndBlocking(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	f.addNode("n2", structs.NodeStatusReady)
	f.addJob("web")
	f.place(testAlloc("a1", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("a2", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("b1", "web", "n2", structs.AllocClientStatusRunning))
	placed := f.store.LatestIndex()

	req := &structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1")}
	var r structs.NodeClientAllocsResponse
	must.NoError(t, f.node.GetClientAllocs(req, &r))
	must.Eq(t, map[string]uint64{"a1": placed, "a2": placed}, r.Allocs)
	must.Eq(t, placed, r.Index)

	// Blocking: returns when n1's allocs change past MinQueryIndex, not
	// for a change on another node.
	done := make(chan structs.NodeClientAllocsResponse, 1)
	go func() {
		var br structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1"),
			QueryOptions: structs.QueryOptions{MinQueryIndex: placed}}
		if err := f.node.GetClientAllocs(req, &br); err != nil {
			t.Error(err)
		}
		done <- br
	}()
	waitFor(func() bool { return len(f.clock.Pending()) == 1 }) // query armed its timeout
	var ur structs.AllocUpdateResponse
	must.NoError(t, f.node.UpdateAlloc(update("n2", secretOf("n2"), report("b1", structs.AllocClientStatusComplete)), &ur))
	select {
	case <-done:
		t.Fatal("woke for another node's alloc")
	default:
	}
	f.place(testAlloc("a3", "web", "n1", structs.AllocClientStatusPending))
	br := <-done
	must.Eq(t, f.store.LatestIndex(), br.Index)
	must.MapLen(t, 3, br.Allocs)
	must.MapNotContainsKey(t, br.Allocs, "b1")
}

func TestGetClientAllocs_TimesOutWithCurrentData(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Jitter = func(max time.Duration) time.Duration { return max / 2 }
	})
	f.addNode("n1", structs.NodeStatusReady)
	f.addJob("web")
	f.place(testAlloc("a1", "web", "n1", structs.AllocClientStatusRunning))
	idx := f.store.LatestIndex()

	done := make(chan structs.NodeClientAllocsResponse, 1)
	go func() {
		var r structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1"),
			QueryOptions: structs.QueryOptions{MinQueryIndex: idx, MaxQueryTime: 20 * time.Minute}}
		if err := f.node.GetClientAllocs(req, &r); err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitFor(func() bool { return len(f.clock.Pending()) == 1 })
	// Capped at MaxQueryTime, plus half of the 1/16 jitter.
	deadline := f.clock.Pending()[0]
	must.Eq(t, MaxQueryTime+MaxQueryTime/JitterFraction/2, deadline.Sub(f.clock.Now()))
	f.clock.Advance(deadline.Sub(f.clock.Now()))
	r := <-done
	must.Eq(t, idx, r.Index)
	must.Eq(t, map[string]uint64{"a1": idx}, r.Allocs)
}

func TestQueryWait(t *testing.T) {
	none := func(time.Duration) time.Duration { return 0 }
	must.Eq(t, DefaultQueryTime, queryWait(0, none))
	must.Eq(t, MaxQueryTime, queryWait(time.Hour, none))
	must.Eq(t, time.Second, queryWait(time.Second, none))
	full := func(max time.Duration) time.Duration { return max }
	must.Eq(t, 16*time.Second+time.Second, queryWait(16*time.Second, full))
}

func TestGetClientAllocs_CloseEndsBlockingQueries(t *testing.T) {
	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusReady)
	idx := f.store.LatestIndex()
	done := make(chan error, 1)
	go func() {
		var r structs.NodeClientAllocsResponse
		done <- f.node.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1"),
			QueryOptions: structs.QueryOptions{MinQueryIndex: idx}}, &r)
	}()
	waitFor(func() bool { return len(f.clock.Pending()) == 1 })
	f.node.Close() // no clock movement: Close alone must end the wait
	must.NoError(t, <-done)
}
