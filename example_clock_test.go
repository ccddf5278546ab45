package rejoin_test

import (
	"sort"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// manualClock is a clock that moves only when told to: Advance fires due
// timers in deadline order on the caller's goroutine. Examples and tests
// use it so a heartbeat TTL passes instantly and deterministically.
type manualClock struct {
	mu     sync.Mutex // protects now, timers and seq
	now    time.Time
	timers []*manualTimer
	seq    int
}

type manualTimer struct {
	c      *manualClock
	at     time.Time
	seq    int
	f      func()
	active bool
}

func newManualClock(start time.Time) *manualClock { return &manualClock{now: start} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f, active: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.c.seq++
	t.at, t.seq, t.active = t.c.now.Add(d), t.c.seq, true
	if !was {
		t.c.timers = append(t.c.timers, t)
	}
	return was
}

// Advance moves time forward by d, running each timer that falls due at
// its deadline, earliest first.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		live := c.timers[:0]
		for _, t := range c.timers {
			if t.active {
				live = append(live, t)
			}
		}
		c.timers = live
		sort.Slice(c.timers, func(i, j int) bool {
			if !c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].at.Before(c.timers[j].at)
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(target) {
			break
		}
		t := c.timers[0]
		t.active = false
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}
