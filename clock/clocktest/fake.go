package clocktest

import (
	"container/heap"
	"sort"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// Fake is a deterministic clock.Clock. Time moves only when Advance or
// Set is called; timers then fire in deadline order (ties in the order they
// were armed), synchronously, in the caller's goroutine, with Now() equal to
// their deadline while they run. A timer armed with d <= 0 fires on the next
// Advance or Set, never inside AfterFunc itself, so arming a timer while
// holding a lock is safe.
type Fake struct {
	mu     sync.Mutex // protects now, seq and timers
	now    time.Time
	seq    uint64
	timers timerHeap
	// advancing serialises Advance/Set so callbacks run one at a time.
	advancing sync.Mutex
}

var _ clock.Clock = (*Fake)(nil)

// NewFake returns a clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start}
}

type fakeTimer struct {
	c        *Fake
	f        func()
	deadline time.Time
	seq      uint64
	index    int // position in the heap, -1 when disarmed
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer d from now.
func (c *Fake) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &fakeTimer{c: c, f: f, index: -1}
	c.mu.Lock()
	c.armLocked(t, d)
	c.mu.Unlock()
	return t
}

func (c *Fake) armLocked(t *fakeTimer, d time.Duration) {
	c.seq++
	t.seq = c.seq
	t.deadline = c.now.Add(d)
	if t.index >= 0 {
		heap.Fix(&c.timers, t.index)
		return
	}
	heap.Push(&c.timers, t)
}

// Stop disarms the timer.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

// Reset re-arms the timer d from now.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	ok := t.index >= 0
	t.c.armLocked(t, d)
	return ok
}

// Advance moves time forward by d, firing every timer due on the way.
func (c *Fake) Advance(d time.Duration) {
	c.Set(c.Now().Add(d))
}

// Set moves time to target (never backwards), firing every timer due on the
// way, including timers that those callbacks arm within the window.
func (c *Fake) Set(target time.Time) {
	c.advancing.Lock()
	defer c.advancing.Unlock()
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].deadline.After(target) {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		next := heap.Pop(&c.timers).(*fakeTimer)
		if next.deadline.After(c.now) {
			c.now = next.deadline
		}
		c.mu.Unlock()
		next.f()
	}
}

// Pending returns the deadlines of the armed timers, earliest first.
func (c *Fake) Pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, 0, len(c.timers))
	for _, t := range c.timers {
		out = append(out, t.deadline)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Armed returns how many timers are armed.
func (c *Fake) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the earliest armed deadline and whether there is one.
// It peeks at the heap: O(1), so a simulation can step from event to event.
func (c *Fake) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].deadline, true
}

// timerHeap orders timers by deadline, then by arming order.
type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
