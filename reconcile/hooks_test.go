package reconcile

import (
	"sync"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// Two goroutines delivering at once: every call is made exactly once, one
// at a time, in the order added, and each deliver returns only after its
// own calls were made.
func TestHookQueue_OrderedAndSerial(t *testing.T) {
	var q hookQueue
	var mu sync.Mutex // protects got and inCall
	var got []string
	inCall := false
	hook := func(ev *structs.Evaluation, _ Input, _ *Results, _ ApplyOutcome) {
		mu.Lock()
		must.False(t, inCall)
		inCall = true
		got = append(got, ev.ID)
		mu.Unlock()
		mu.Lock()
		inCall = false
		mu.Unlock()
	}
	calls := func(ids ...string) []hookCall {
		out := make([]hookCall, len(ids))
		for i, id := range ids {
			out[i] = hookCall{eval: &structs.Evaluation{ID: id}}
		}
		return out
	}
	first := q.add(calls("a", "b"))
	second := q.add(calls("c"))
	var wg sync.WaitGroup
	for _, upTo := range []uint64{second, first} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.deliver(upTo, hook)
			q.mu.Lock()
			defer q.mu.Unlock()
			must.True(t, q.done >= upTo)
		}()
	}
	wg.Wait()
	must.Eq(t, []string{"a", "b", "c"}, got)
	q.deliver(q.add(nil), hook) // nothing queued: returns at once
	must.Len(t, 3, got)
}

// OnResult runs outside the worker's locks, once per applied evaluation,
// in the order of the writes, before ProcessReady returns.
func TestWorker_OnResultOutsideLocksInOrder(t *testing.T) {
	e := wkNew(t)
	var indexes []uint64
	var lockedDuringHook bool
	e.w.onResult = func(_ *structs.Evaluation, _ Input, _ *Results, out ApplyOutcome) {
		if !e.w.procMu.TryLock() {
			lockedDuringHook = true
		} else {
			e.w.procMu.Unlock()
		}
		if !e.w.mu.TryLock() {
			lockedDuringHook = true
		} else {
			e.w.mu.Unlock()
		}
		indexes = append(indexes, out.Index)
	}
	e.node("n1", structs.NodeStatusReady)
	e.job(wkJob("a", 1), "ev1")
	e.job(wkJob("b", 1), "ev2")
	e.job(wkJob("c", 1), "ev3")
	must.Eq(t, 3, e.process())
	must.False(t, lockedDuringHook)
	must.Len(t, 3, indexes)
	must.True(t, indexes[0] < indexes[1] && indexes[1] < indexes[2], must.Sprintf("%v", indexes))
}
