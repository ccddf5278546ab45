package clocktest

import (
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFake_FiresInDeadlineOrderAtTheirTime(t *testing.T) {
	c := NewFake(epoch)
	var got []string
	var at []time.Duration
	rec := func(name string) func() {
		return func() { got = append(got, name); at = append(at, c.Now().Sub(epoch)) }
	}
	c.AfterFunc(3*time.Second, rec("c"))
	c.AfterFunc(1*time.Second, rec("a"))
	c.AfterFunc(2*time.Second, rec("b1"))
	c.AfterFunc(2*time.Second, rec("b2")) // same deadline: arming order
	c.AfterFunc(10*time.Second, rec("late"))

	c.Advance(5 * time.Second)
	must.Eq(t, []string{"a", "b1", "b2", "c"}, got)
	must.Eq(t, []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second}, at)
	must.Eq(t, epoch.Add(5*time.Second), c.Now())
	must.Eq(t, []time.Time{epoch.Add(10 * time.Second)}, c.Pending())
}

func TestFake_StopAndReset(t *testing.T) {
	c := NewFake(epoch)
	fired := 0
	tm := c.AfterFunc(time.Second, func() { fired++ })
	must.True(t, tm.Stop())
	must.False(t, tm.Stop())
	c.Advance(2 * time.Second)
	must.Eq(t, 0, fired)

	must.False(t, tm.Reset(time.Second)) // was stopped
	must.True(t, tm.Reset(3*time.Second))
	c.Advance(2 * time.Second)
	must.Eq(t, 0, fired)
	c.Advance(time.Second)
	must.Eq(t, 1, fired)
}

func TestFake_CallbackArmsTimerWithinWindow(t *testing.T) {
	c := NewFake(epoch)
	var ticks []time.Time
	var tick func()
	tick = func() {
		ticks = append(ticks, c.Now())
		c.AfterFunc(time.Second, tick)
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(3 * time.Second)
	must.Eq(t, []time.Time{epoch.Add(time.Second), epoch.Add(2 * time.Second), epoch.Add(3 * time.Second)}, ticks)
}

func TestFake_ZeroDelayFiresOnNextAdvanceNotInline(t *testing.T) {
	c := NewFake(epoch)
	var mu sync.Mutex
	fired := false
	mu.Lock()
	c.AfterFunc(0, func() { mu.Lock(); fired = true; mu.Unlock() }) // would deadlock if inline
	mu.Unlock()
	must.False(t, fired)
	c.Advance(0)
	must.True(t, fired)
}

func TestFake_NeverGoesBackwards(t *testing.T) {
	c := NewFake(epoch)
	c.Set(epoch.Add(-time.Hour))
	must.Eq(t, epoch, c.Now())
}

func TestFake_NextDeadlineIsTheEarliest(t *testing.T) {
	c := NewFake(epoch)
	_, ok := c.NextDeadline()
	must.False(t, ok)
	late := c.AfterFunc(5*time.Second, func() {})
	c.AfterFunc(3*time.Second, func() {})
	early := c.AfterFunc(time.Second, func() {})
	d, ok := c.NextDeadline()
	must.True(t, ok)
	must.Eq(t, epoch.Add(time.Second), d)
	early.Stop()
	d, _ = c.NextDeadline()
	must.Eq(t, epoch.Add(3*time.Second), d)
	late.Reset(time.Millisecond)
	d, _ = c.NextDeadline()
	must.Eq(t, epoch.Add(time.Millisecond), d)
}
