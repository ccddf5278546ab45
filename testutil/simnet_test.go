package testutil

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func newTestNet(seed uint64, cfg NetConfig) (*FakeClock, *Network) {
	clk := NewFakeClock(MockEpoch)
	return clk, NewNetwork(clk, rand.New(rand.NewPCG(seed, 1)), cfg)
}

func TestNetwork_DeliversAfterDelayAndReorders(t *testing.T) {
	clk, n := newTestNet(1, NetConfig{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
	var got []int
	for i := 0; i < 50; i++ {
		must.True(t, n.Send("a", func() { got = append(got, i) }))
	}
	clk.Advance(5 * time.Millisecond)
	must.SliceEmpty(t, got) // nothing arrives before the minimum delay
	clk.Advance(time.Second)
	must.Len(t, 50, got)
	reordered := false
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			reordered = true
		}
	}
	must.True(t, reordered, must.Sprint("per-message jitter should let messages overtake each other"))
	must.Eq(t, 50, n.Stats.Delivered)
}

func TestNetwork_PartitionCutsInFlightAndHealRestores(t *testing.T) {
	clk, n := newTestNet(2, NetConfig{MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond})
	delivered := map[string]int{}
	n.Send("a", func() { delivered["a"]++ })
	n.Send("b", func() { delivered["b"]++ })
	n.Partition("a") // "a"'s message is in flight: it is lost
	must.False(t, n.Send("a", func() { delivered["a"]++ }))
	clk.Advance(time.Second)
	must.Eq(t, map[string]int{"b": 1}, delivered)
	must.Eq(t, []string{"a"}, n.PartitionedNodes())
	n.Heal("a")
	n.Send("a", func() { delivered["a"]++ })
	clk.Advance(time.Second)
	must.Eq(t, 1, delivered["a"])
	must.Eq(t, 2, n.Stats.Cut)
}

func TestNetwork_CallTimesOutWhenCut(t *testing.T) {
	clk, n := newTestNet(3, NetConfig{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	var replies, timeouts int
	server := func() func() { return func() { replies++ } }
	n.Call("a", time.Second, server, func() { timeouts++ })
	clk.Advance(2 * time.Second)
	must.Eq(t, 1, replies)
	must.Zero(t, timeouts)

	n.Partition("a")
	n.Call("a", time.Second, server, func() { timeouts++ })
	clk.Advance(2 * time.Second)
	must.Eq(t, 1, replies)
	must.Eq(t, 1, timeouts)

	// A server that does not answer (no leader) times out too.
	n.HealAll()
	n.Call("a", time.Second, func() func() { return nil }, func() { timeouts++ })
	clk.Advance(2 * time.Second)
	must.Eq(t, 2, timeouts)
}

func TestNetwork_SameSeedSameSchedule(t *testing.T) {
	order := func(seed uint64) []int {
		clk, n := newTestNet(seed, NetConfig{MinDelay: time.Millisecond, MaxDelay: 30 * time.Millisecond, DropRate: 0.2})
		var got []int
		for i := 0; i < 100; i++ {
			n.Send([]string{"a", "b", "c"}[i%3], func() { got = append(got, i) })
		}
		clk.Advance(time.Second)
		return got
	}
	must.Eq(t, order(9), order(9))
	must.NotEq(t, order(9), order(10))
	must.Less(t, 100, len(order(9))) // some were dropped
}
