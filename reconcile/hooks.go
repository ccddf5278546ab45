package reconcile

import (
	"sync"

	"github.com/rejoinhq/rejoin/structs"
)

// hookCall is one OnResult call waiting to be delivered.
type hookCall struct {
	eval *structs.Evaluation
	in   Input
	res  *Results
	out  ApplyOutcome
}

// hookQueue delivers OnResult calls one at a time, in the order they were
// added, without holding any lock during a call: whichever caller of
// deliver finds nobody delivering delivers every queued call, and the
// others wait (on cond, which releases mu) until their own calls are done.
type hookQueue struct {
	// mu protects every field below; it is never held during a call.
	mu         sync.Mutex
	cond       *sync.Cond
	queue      []hookCall
	added      uint64 // calls ever added
	done       uint64 // calls ever delivered
	delivering bool
}

// add queues calls and returns the count deliver must reach to have
// delivered them.
func (q *hookQueue) add(calls []hookCall) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, calls...)
	q.added += uint64(len(calls))
	return q.added
}

// deliver returns once the first upTo calls ever added have been made,
// making them itself unless another goroutine already is.
func (q *hookQueue) deliver(upTo uint64, hook func(*structs.Evaluation, Input, *Results, ApplyOutcome)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cond == nil {
		q.cond = sync.NewCond(&q.mu)
	}
	for q.done < upTo {
		if q.delivering {
			q.cond.Wait()
			continue
		}
		q.delivering = true
		for len(q.queue) > 0 {
			c := q.queue[0]
			q.queue[0] = hookCall{}
			q.queue = q.queue[1:]
			q.mu.Unlock()
			if hook != nil {
				hook(c.eval, c.in, c.res, c.out)
			}
			q.mu.Lock()
			q.done++
		}
		q.delivering = false
		q.cond.Broadcast()
	}
}
