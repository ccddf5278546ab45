package rpc

import (
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// batcher gathers validated UpdateAlloc calls and applies them together.
// Three things end a batch: its window passing (the timer armed by its
// first call), its allocs reaching maxAllocs, or an explicit flush. With a
// negative window it group-commits instead: a call is applied at once if no
// write is running, else with everything that arrived during that write.
type batcher struct {
	apply     func([]*allocEntry)
	clock     clock.Clock
	window    time.Duration
	manual    bool
	maxAllocs int

	mu sync.Mutex // protects every field below
	// pending is the open batch and pendingAllocs the allocs it holds.
	pending       []*allocEntry
	pendingAllocs int
	// timer ends the open batch's window; gen tells a timer that fires
	// late (after its batch was already taken) that it has nothing to do.
	timer clock.Timer
	gen   uint64
	// committing is set while the group-commit goroutine runs.
	committing bool
	closed     bool
	// onEnqueue, if set, is called after a call joins the batch (tests).
	onEnqueue func()
}

func newBatcher(cfg Config, apply func([]*allocEntry)) *batcher {
	return &batcher{
		apply:     apply,
		clock:     cfg.Clock,
		window:    cfg.BatchWindow,
		manual:    cfg.ManualFlush,
		maxAllocs: cfg.MaxBatchAllocs,
	}
}

// submit adds e to the open batch and waits for its result.
func (b *batcher) submit(e *allocEntry) allocResult {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.apply([]*allocEntry{e})
		return <-e.done
	}
	b.pending = append(b.pending, e)
	b.pendingAllocs += len(e.allocs)
	var now []*allocEntry
	switch {
	case b.pendingAllocs >= b.maxAllocs:
		now = b.takeLocked()
	case b.manual:
	case b.window < 0:
		if !b.committing {
			b.committing = true
			go b.groupCommit()
		}
	case len(b.pending) == 1:
		gen := b.gen
		b.timer = b.clock.AfterFunc(b.window, func() { b.windowEnded(gen) })
	}
	hook := b.onEnqueue
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	if now != nil {
		b.apply(now)
	}
	return <-e.done
}

// takeLocked closes the open batch and returns it.
func (b *batcher) takeLocked() []*allocEntry {
	batch := b.pending
	b.pending, b.pendingAllocs = nil, 0
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

func (b *batcher) windowEnded(gen uint64) {
	b.mu.Lock()
	if gen != b.gen {
		b.mu.Unlock()
		return
	}
	batch := b.takeLocked()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.apply(batch)
	}
}

func (b *batcher) groupCommit() {
	for {
		b.mu.Lock()
		batch := b.takeLocked()
		if len(batch) == 0 {
			b.committing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.apply(batch)
	}
}

// flush applies the open batch now.
func (b *batcher) flush() {
	b.mu.Lock()
	batch := b.takeLocked()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.apply(batch)
	}
}

// pendingCalls returns how many calls wait in the open batch (tests).
func (b *batcher) pendingCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// close applies the open batch; later calls are applied one by one.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	batch := b.takeLocked()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.apply(batch)
	}
}
