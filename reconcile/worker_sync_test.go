package reconcile

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// SyncFromStore reads only what was written since its last scan, yet
// misses nothing: an evaluation written between scans is queued once, a
// held one is not queued again when other evaluations are written, and
// one failed or completed (not only canceled) while held is dropped.
func TestWorker_SyncFindsEvalsWrittenBetweenScans(t *testing.T) {
	e := wkNew(t)
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("web", 1), "")
	e.job(wkJob("api", 1), "")
	held := wkEval("held", "web", structs.EvalTriggerMaxDisconnectTimeout)
	held.WaitUntil = wkT0.Add(5 * time.Minute)
	e.evals(held)
	must.NoError(t, e.w.SyncFromStore())
	r, h := e.w.Pending()
	must.Eq(t, [2]int{0, 1}, [2]int{r, h})

	// Unchanged store: nothing new.
	must.NoError(t, e.w.SyncFromStore())
	r, h = e.w.Pending()
	must.Eq(t, [2]int{0, 1}, [2]int{r, h})

	done := wkEval("done", "api", structs.EvalTriggerJobRegister)
	done.Status = structs.EvalStatusComplete
	e.evals(wkEval("later", "api", structs.EvalTriggerJobRegister), done)
	must.NoError(t, e.w.SyncFromStore())
	r, h = e.w.Pending()
	must.Eq(t, [2]int{1, 1}, [2]int{r, h}) // "later" ready, "held" still held once

	f := held.Copy()
	f.Status = structs.EvalStatusFailed
	e.evals(f)
	must.NoError(t, e.w.SyncFromStore())
	r, h = e.w.Pending()
	must.Eq(t, [2]int{1, 0}, [2]int{r, h})
	must.Eq(t, 0, e.clk.Armed())
	must.Eq(t, 1, e.process())
	must.Eq(t, structs.EvalStatusComplete, e.eval("later").Status)
}
