package reconcile

import (
	"cmp"
	"container/heap"
	"slices"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// evalQueue holds the evaluations a Worker has yet to process: ready ones
// grouped per job (so several evaluations of one job are processed once),
// and delayed ones waiting for their WaitUntil. It is not safe for
// concurrent use: the Worker guards it with its mutex.
type evalQueue struct {
	// ready orders jobs by their earliest ready evaluation (CreateIndex,
	// then ID), so processing order depends only on the evaluations, not
	// on when timers fired or Enqueue was called.
	ready jobHeap
	byJob map[string]*jobEvals
	// readyCount is the number of evaluations in ready.
	readyCount int
	// held are delayed evaluations by ID, with the timer that releases them.
	held map[string]heldEval
	// seen holds the ID of every evaluation queued, held or being
	// processed, so a store scan does not enqueue one twice.
	seen map[string]struct{}
}

type heldEval struct {
	eval  *structs.Evaluation
	timer clock.Timer
}

// jobEvals are the ready evaluations of one job, sorted.
type jobEvals struct {
	key   string
	evals []*structs.Evaluation
	index int // position in the heap
}

func newEvalQueue() evalQueue {
	return evalQueue{
		byJob: make(map[string]*jobEvals),
		held:  make(map[string]heldEval),
		seen:  make(map[string]struct{}),
	}
}

// jobKey identifies an evaluation's job.
func jobKey(e *structs.Evaluation) string {
	ns := e.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return ns + "\x00" + e.JobID
}

// evalOrder is the processing order of evaluations: oldest write first,
// then ID.
func evalOrder(a, b *structs.Evaluation) int {
	return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.ID, b.ID))
}

// pushReady adds a ready evaluation under its job.
func (q *evalQueue) pushReady(e *structs.Evaluation) {
	q.readyCount++
	key := jobKey(e)
	je := q.byJob[key]
	if je == nil {
		je = &jobEvals{key: key, evals: []*structs.Evaluation{e}}
		q.byJob[key] = je
		heap.Push(&q.ready, je)
		return
	}
	i, _ := slices.BinarySearchFunc(je.evals, e, evalOrder)
	je.evals = slices.Insert(je.evals, i, e)
	if i == 0 {
		heap.Fix(&q.ready, je.index)
	}
}

// popReady removes and returns the next job's ready evaluations, or nil.
func (q *evalQueue) popReady() *jobEvals {
	if len(q.ready) == 0 {
		return nil
	}
	je := heap.Pop(&q.ready).(*jobEvals)
	delete(q.byJob, je.key)
	q.readyCount -= len(je.evals)
	return je
}

// hold records a delayed evaluation and the timer that will release it.
func (q *evalQueue) hold(e *structs.Evaluation, t clock.Timer) {
	q.held[e.ID] = heldEval{eval: e, timer: t}
}

// release moves a held evaluation to ready; false if it is no longer held.
func (q *evalQueue) release(id string) bool {
	h, ok := q.held[id]
	if !ok {
		return false
	}
	delete(q.held, id)
	q.pushReady(h.eval)
	return true
}

// drop forgets a held evaluation that no longer needs processing.
func (q *evalQueue) drop(id string) {
	if h, ok := q.held[id]; ok {
		h.timer.Stop()
		delete(q.held, id)
	}
	delete(q.seen, id)
}

// jobHeap is a min-heap of jobs by their earliest ready evaluation.
type jobHeap []*jobEvals

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return evalOrder(h[i].evals[0], h[j].evals[0]) < 0 }
func (h jobHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *jobHeap) Push(x any) {
	je := x.(*jobEvals)
	je.index = len(*h)
	*h = append(*h, je)
}

func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	je := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	je.index = -1
	return je
}
