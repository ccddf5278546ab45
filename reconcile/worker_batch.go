package reconcile

import (
	"sync/atomic"
	"time"

	"github.com/rejoinhq/rejoin/state"
)

const (
	// maxBatch bounds how many jobs are prepared from one snapshot. The
	// plans are written one by one after all are prepared, so a larger
	// batch leaves the last plans older when they are written, and more
	// likely to be refused as stale on a busy server.
	maxBatch = 64
	// fillBatch is the batch size from which preparing reads every node
	// once (into the node memo) rather than each job reading its own: a
	// few dozen jobs read more nodes one by one than nodeMemoFill.
	fillBatch = 16
)

// popBatch takes up to maxBatch ready jobs off the queue, in queue order.
// The batches do not depend on the parallelism, so neither do the
// snapshots the plans are computed from, nor the commands written: a
// simulation's trace is the same on any machine.
func (w *Worker) popBatch() []*jobEvals {
	w.mu.Lock()
	defer w.mu.Unlock()
	var batch []*jobEvals
	for len(batch) < maxBatch {
		je := w.q.popReady()
		if je == nil {
			break
		}
		batch = append(batch, je)
	}
	return batch
}

// batchPrep is a batch being prepared. Its runs are ready in queue order
// as far as the preparing goroutines got; wait(i) returns run i once it is.
type batchPrep struct {
	w     *Worker
	snap  *state.Snapshot
	now   time.Time
	batch []*jobEvals
	preps []prepared
	// done[i] is closed once preps[i] is written (parallel batches only;
	// nil when the runs are prepared on the caller's goroutine in wait).
	done []chan struct{}
}

// prepareBatch starts preparing every job of batch from snap. Preparing is
// the read-and-compute part of a run (reading the job's allocations and
// nodes, Compute), most of its cost; it writes nothing, so up to
// parallelism goroutines do it while the caller writes the plans of the
// runs already prepared, one at a time in queue order (processJob), so
// allocation IDs and writes come out as they would one job at a time. A
// plan never changes another job's allocations, its nodes or the job
// itself, which is all a run reads, so preparing a job before the batch's
// earlier plans are written gives the same decisions. Each write is still
// checked against snap (ReadIndex): a change from outside the worker sends
// that job back for a fresh run. The caller holds procMu, and must wait
// for every run before it touches the node caches again.
func (w *Worker) prepareBatch(snap *state.Snapshot, now time.Time, batch []*jobEvals) *batchPrep {
	bp := &batchPrep{w: w, snap: snap, now: now, batch: batch, preps: make([]prepared, len(batch))}
	if len(batch) == 1 || w.parallelism <= 1 {
		return bp
	}
	nodes, err := w.sharedNodes(snap, len(batch) >= fillBatch)
	bp.done = make([]chan struct{}, len(batch))
	for i := range bp.done {
		bp.done[i] = make(chan struct{})
	}
	if err != nil {
		for i, je := range batch {
			bp.preps[i] = prepared{evals: currentEvals(snap, je.evals), err: err}
			close(bp.done[i])
		}
		return bp
	}
	var next atomic.Int64
	for range min(w.parallelism, len(batch)) {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batch) {
					return
				}
				bp.preps[i] = prepare(snap, now, batch[i].evals, nodes)
				close(bp.done[i])
			}
		}()
	}
	return bp
}

// wait returns run i of the batch once it is prepared.
func (bp *batchPrep) wait(i int) *batchRun {
	if bp.done == nil {
		bp.preps[i] = prepare(bp.snap, bp.now, bp.batch[i].evals, bp.w.memoNodes(bp.snap))
	} else {
		<-bp.done[i]
	}
	return &batchRun{snap: bp.snap, now: bp.now, prep: &bp.preps[i], shared: bp.done != nil}
}
