package reconcile

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// Evaluate runs one evaluation with the worker's own steps and hands the
// result to its caller, not to OnResult.
func TestWorker_EvaluateOneEvaluation(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 2), "ev1")

	out, err := e.w.Evaluate(e.eval("ev1"))
	must.NoError(t, err)
	must.Eq(t, 1, out.Processed)
	must.NotNil(t, out.Results)
	must.Len(t, 2, out.Results.Place)
	must.Eq(t, 2, out.Applied.Placed)
	must.Positive(t, out.Applied.Index)
	must.Eq(t, "ev1", out.Input.EvalID)
	must.Len(t, 2, e.jobAllocs("web"))
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
	must.Eq(t, 0, e.resultCount()) // the caller got it; OnResult did not

	// Already terminal: nothing to do, nothing written.
	before := e.s.LatestIndex()
	out, err = e.w.Evaluate(e.eval("ev1"))
	must.NoError(t, err)
	must.Eq(t, EvalOutcome{}, out)
	must.Eq(t, before, e.s.LatestIndex())
}

// Placements that find no node leave a blocked evaluation, exactly as in
// ProcessReady (the external-broker path used to skip this).
func TestWorker_EvaluateRecordsBlockedEvaluation(t *testing.T) {
	e := wkNew(t)
	e.job(wkJob("web", 1), "ev1")
	out, err := e.w.Evaluate(e.eval("ev1"))
	must.NoError(t, err)
	must.Eq(t, 1, out.Applied.Unplaced)
	b := e.eval(BlockedEvalID("", "web"))
	must.NotNil(t, b)
	must.Eq(t, structs.EvalStatusBlocked, b.Status)
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
}

// A job that keeps changing under every attempt: Evaluate says so, writes
// nothing and leaves the evaluation pending for the broker to retry; it is
// not parked in the worker's own queue.
func TestWorker_EvaluateKeptChanging(t *testing.T) {
	e := wkNew(t)
	a := e.runningWeb()
	e.w.beforeApply = func(int) { e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning) }
	e.evals(wkEval("ev1", "web", structs.EvalTriggerNodeUpdate))

	_, err := e.w.Evaluate(e.eval("ev1"))
	must.ErrorIs(t, err, ErrKeptChanging)
	must.Eq(t, structs.EvalStatusPending, e.eval("ev1").Status)
	r, h := e.w.Pending()
	must.Eq(t, [2]int{0, 0}, [2]int{r, h})

	e.w.beforeApply = nil
	out, err := e.w.Evaluate(e.eval("ev1"))
	must.NoError(t, err)
	must.Eq(t, 1, out.Processed)
	must.Eq(t, structs.EvalStatusComplete, e.eval("ev1").Status)
}

func TestWorker_EvaluateRejectsIncompleteEvaluation(t *testing.T) {
	e := wkNew(t)
	_, err := e.w.Evaluate(nil)
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
	_, err = e.w.Evaluate(&structs.Evaluation{ID: "x"})
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
}
