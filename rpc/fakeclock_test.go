package rpc

import (
	"sort"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// fakeClock is a minimal deterministic clock.Clock. testutil.FakeClock
// cannot be used here: testutil's cluster harness imports rpc, so rpc's
// internal tests importing testutil would be an import cycle.
// Advance fires due timers in deadline order, in the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex // protects now, seq and timers
	now    time.Time
	seq    uint64
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	c        *fakeClock
	f        func()
	deadline time.Time
	seq      uint64
}

var _ clock.Clock = (*fakeClock)(nil)

func newFakeClock(start time.Time) *fakeClock {
	return &fakeClock{now: start, timers: map[*fakeTimer]struct{}{}}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &fakeTimer{c: c, f: f}
	t.Reset(d)
	return t
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	t.c.seq++
	t.seq, t.deadline = t.c.seq, t.c.now.Add(d)
	t.c.timers[t] = struct{}{}
	return active
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, active := t.c.timers[t]
	delete(t.c.timers, t)
	return active
}

// Pending returns the armed deadlines, earliest first.
func (c *fakeClock) Pending() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for t := range c.timers {
		out = append(out, t.deadline)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Advance moves time by d, firing each timer that comes due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for t := range c.timers {
			if !t.deadline.After(target) && (next == nil || t.deadline.Before(next.deadline) ||
				(t.deadline.Equal(next.deadline) && t.seq < next.seq)) {
				next = t
			}
		}
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		delete(c.timers, next)
		c.now = next.deadline
		c.mu.Unlock()
		next.f()
	}
}
