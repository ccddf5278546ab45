package heartbeat

import (
	"errors"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

func TestRateScaledTTL(t *testing.T) {
	for _, tc := range []struct {
		nodes int
		want  time.Duration
	}{
		{0, 10 * time.Second},
		{10, 10 * time.Second},
		{500, 10 * time.Second},
		{1_000, 20 * time.Second},
		{10_000, 200 * time.Second},
		{1_000_000, 20_000 * time.Second},
	} {
		must.Eq(t, tc.want, RateScaledTTL(tc.nodes, DefaultMinHeartbeatTTL, DefaultMaxHeartbeatsPerSecond),
			must.Sprintf("nodes=%d", tc.nodes))
	}
}

func TestStaggeredBounds(t *testing.T) {
	ttl := 10 * time.Second
	must.Eq(t, ttl, Staggered(ttl, 0))
	must.Eq(t, 15*time.Second, Staggered(ttl, 0.5))
	top := Staggered(ttl, 0.9999999999999999)
	must.Less(t, 2*ttl, top)
	must.GreaterEq(t, ttl, top)
}

func TestResetHeartbeatTimer_TTLStaggerAndDeadline(t *testing.T) {
	hs := newHarness(t, nil)
	hs.h.SetLeader(true)
	for i := range 200 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		ttl, err := hs.h.ResetHeartbeatTimer(id)
		must.NoError(t, err)
		must.GreaterEq(t, 10*time.Second, ttl)
		must.Less(t, 20*time.Second, ttl)
		dl, ok := hs.h.Tracker().Deadline(id)
		must.True(t, ok)
		must.Eq(t, epoch.Add(ttl+DefaultHeartbeatGrace), dl) // server waits ttl + grace
	}
	must.Eq(t, 200, hs.metrics.counter(MetricReset))
}

func TestResetHeartbeatTimer_ScalesWithTrackedNodes(t *testing.T) {
	r := &fixedRand{u: 0}
	hs := newHarness(t, func(c *Config) { c.Rand = r })
	hs.h.SetLeader(true)
	for i := range 1000 {
		hs.h.Tracker().Reset(string(rune(0x4e00+i)), time.Hour)
	}
	ttl, err := hs.h.ResetHeartbeatTimer("x")
	must.NoError(t, err)
	must.Eq(t, 20*time.Second, ttl) // 1000 tracked / 50 per second
	r.u = 0.5
	ttl, _ = hs.h.ResetHeartbeatTimer("x")
	must.Eq(t, 30030*time.Millisecond, ttl) // 1001/50 = 20.02s, plus half of it
}

func TestResetHeartbeatTimer_NotLeader(t *testing.T) {
	hs := newHarness(t, nil)
	_, err := hs.h.ResetHeartbeatTimer("n1")
	must.True(t, errors.Is(err, ErrNotLeader))
	must.Eq(t, 0, hs.h.Tracker().Len())
	hs.h.SetLeader(true)
	hs.h.SetLeader(false)
	_, err = hs.h.ResetHeartbeatTimer("n1")
	must.True(t, errors.Is(err, ErrNotLeader))
}

func TestConfigValidation(t *testing.T) {
	store := newFakeStore()
	_, err := New(Config{MinHeartbeatTTL: -1}, store, store)
	must.True(t, errors.Is(err, structs.ErrInvalidRequest))
	_, err = New(Config{BreakerFraction: 1.5}, store, store)
	must.True(t, errors.Is(err, structs.ErrInvalidRequest))
	_, err = New(Config{}, nil, store)
	must.True(t, errors.Is(err, structs.ErrInvalidRequest))
}
