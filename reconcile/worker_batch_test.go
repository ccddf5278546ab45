package reconcile

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestWorker_ParallelPreparationDecidesTheSame: the same history processed
// with jobs prepared one at a time and in parallel batches (below and above
// fillBatch, so both node views) ends in the same state, through the same
// decisions in the same order.
func TestWorker_ParallelPreparationDecidesTheSame(t *testing.T) {
	for _, jobs := range []int{5, 3 * fillBatch} {
		t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
			h1, log1 := wkParallelRun(t, jobs, 1)
			h4, log4 := wkParallelRun(t, jobs, 4)
			must.Eq(t, h1, h4)
			must.Eq(t, log1, log4)
			// Not vacuous: every kind of decision the history asks for.
			for _, want := range []string{`"Disconnect":[{`, `"Place":[{`, `"Stop":[{`, `"Reconnect":[{`} {
				must.StrContains(t, fmt.Sprint(log1), want)
			}
		})
	}
}

// wkParallelRun runs a history of placements, a disconnect, a failure and a
// reconnect through a worker with the given parallelism; it returns the
// final state hash and each applied evaluation's decisions in order.
func wkParallelRun(t *testing.T, jobs, parallelism int) ([32]byte, []string) {
	e := wkNew(t)
	var log []string
	e.w = NewWorker(WorkerConfig{Store: e.s, Clock: e.clk, NewID: apSeqIDs("w"), Parallelism: parallelism,
		OnResult: func(ev *structs.Evaluation, _ Input, res *Results, _ ApplyOutcome) {
			b, err := json.Marshal(res)
			must.NoError(t, err)
			log = append(log, ev.JobID+" "+string(b))
		}})
	node := func(i int) string { return fmt.Sprintf("n%02d", i) }
	for i := range 12 {
		e.node(node(i), structs.NodeStatusReady)
	}
	var ids []string
	for i := range jobs {
		j := wkJob(fmt.Sprintf("job%02d", i), 3)
		ids = append(ids, j.ID)
		e.job(j, "reg-"+j.ID)
	}
	sys := wkJob("sys", 1)
	sys.Type = structs.JobTypeSystem
	ids = append(ids, sys.ID)
	e.job(sys, "reg-sys")
	e.process()
	for _, id := range ids {
		for _, a := range e.jobAllocs(id) {
			e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning)
		}
	}
	nodeEvals := func(prefix string) []*structs.Evaluation {
		var evs []*structs.Evaluation
		for _, id := range ids {
			evs = append(evs, wkEval(prefix+"-"+id, id, structs.EvalTriggerNodeUpdate))
		}
		return evs
	}
	e.clk.Advance(time.Minute)
	for i := range 4 {
		e.nodeStatus(node(i), structs.NodeStatusDisconnected, nodeEvals("dis-"+node(i))...)
	}
	e.process()

	e.clk.Advance(time.Minute)
	failed := e.jobAllocs(ids[1])[0]
	if failed.NodeID < node(4) { // on a disconnected node: pick one that reports
		failed = e.jobAllocs(ids[1])[len(e.jobAllocs(ids[1]))-1]
	}
	e.clientUpdate(failed.NodeID, failed.ID, structs.AllocClientStatusFailed,
		wkEval("fail-"+failed.ID, ids[1], structs.EvalTriggerRetryFailedAlloc))
	e.nodeStatus(node(0), structs.NodeStatusReady, nodeEvals("back-"+node(0))...)
	for _, id := range ids {
		for _, a := range e.jobAllocs(id) {
			if a.NodeID == node(0) && a.DesiredStatus == structs.AllocDesiredStatusRun {
				e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning,
					wkEval("rec-"+a.ID, id, structs.EvalTriggerReconnect))
			}
		}
	}
	e.process()
	e.noEvalPendingOrFailed()
	h, err := e.s.StateHash()
	must.NoError(t, err)
	return h, log
}
